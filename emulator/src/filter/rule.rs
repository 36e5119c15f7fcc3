//! Subscription rules: a named filter with an optional SQL action, and the rule set of one
//! subscription.
//!
//! What a matching message becomes follows Service Bus ("Topic filters and actions"): all
//! matching rules *without* an action together give the subscription one copy of the message;
//! every matching rule *with* an action gives one more copy, on which the action ran and which
//! carries the user property `RuleName` = the rule's name. A message no rule matches is not
//! delivered to the subscription.

use std::fmt;

use super::{CorrelationFilter, MessageView, SqlAction, SqlError, SqlFilter, Value};

/// The rule every new subscription gets unless it is created with rules of its own.
pub const DEFAULT_RULE_NAME: &str = "$Default";
/// Most rules a subscription may have (Service Bus's quota).
pub const MAX_RULES: usize = 2000;
/// Longest rule name Service Bus accepts.
pub const MAX_RULE_NAME: usize = 50;
/// The user property naming the rule on a copy an action made.
pub const RULE_NAME_PROPERTY: &str = "RuleName";

/// `@name` parameters of a SQL expression.
pub type Parameters = Vec<(String, Value)>;

/// What a rule selects.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Every message (`1=1`).
    True,
    /// No message (`1=0`).
    False,
    /// A SQL expression.
    Sql {
        /// The parsed expression.
        filter: SqlFilter,
        /// Its parameters, as given.
        parameters: Parameters,
    },
    /// Properties that must equal the message's.
    Correlation(CorrelationFilter),
}

impl Filter {
    /// A SQL filter. `1=1` and `1=0` (the SDKs' true and false filters) are the
    /// [`Filter::True`] and [`Filter::False`] filters.
    pub fn sql(expression: &str, parameters: Parameters) -> Result<Self, SqlError> {
        let compact: String = expression.split_whitespace().collect();
        match compact.as_str() {
            "1=1" => Ok(Self::True),
            "1=0" => Ok(Self::False),
            _ => Ok(Self::Sql {
                filter: SqlFilter::new(expression, &parameters)?,
                parameters,
            }),
        }
    }

    /// Whether `message` passes. Filters that read properties need the message's view;
    /// without one they do not match.
    pub fn matches(&self, message: Option<&MessageView>) -> bool {
        match (self, message) {
            (Self::True, _) => true,
            (Self::False, _) => false,
            (Self::Sql { filter, .. }, Some(m)) => filter.matches(m),
            (Self::Correlation(filter), Some(m)) => filter.matches(m),
            (_, None) => false,
        }
    }

    fn reads_properties(&self) -> bool {
        matches!(self, Self::Sql { .. } | Self::Correlation(_))
    }
}

/// A SQL rule action with the parameters it was parsed with.
#[derive(Debug, Clone)]
pub struct Action {
    action: SqlAction,
    parameters: Parameters,
}

impl Action {
    /// Parses a SQL action (`SET x = 1; REMOVE y`).
    pub fn new(expression: &str, parameters: Parameters) -> Result<Self, SqlError> {
        Ok(Self {
            action: SqlAction::new(expression, &parameters)?,
            parameters,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        self.action.expression()
    }

    /// The parameters as given.
    pub fn parameters(&self) -> &[(String, Value)] {
        &self.parameters
    }

    /// Runs the action on a copy of a message.
    pub fn apply(&self, message: &mut MessageView) -> Result<(), SqlError> {
        self.action.apply(message)
    }
}

/// A named rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name (unique in the subscription, compared case-insensitively).
    pub name: String,
    /// What it selects.
    pub filter: Filter,
    /// What it does to the copy it selects.
    pub action: Option<Action>,
}

impl Rule {
    /// A rule, its name checked.
    pub fn new(name: &str, filter: Filter, action: Option<Action>) -> Result<Self, String> {
        validate_rule_name(name)?;
        if let Filter::Correlation(c) = &filter {
            if c.is_empty() {
                return Err(
                    "A correlation filter needs at least one system or user property.".into(),
                );
            }
        }
        Ok(Self {
            name: name.to_owned(),
            filter,
            action,
        })
    }

    /// `$Default`: the true filter, no action.
    pub fn default_rule() -> Self {
        Self {
            name: DEFAULT_RULE_NAME.to_owned(),
            filter: Filter::True,
            action: None,
        }
    }
}

/// Checks a rule name as Service Bus does: 1 to 50 characters, none of `/ \ ? #`.
pub fn validate_rule_name(name: &str) -> Result<(), String> {
    let length = name.chars().count();
    if length == 0 || length > MAX_RULE_NAME {
        return Err(format!(
            "The rule name '{name}' is not valid: it must have 1 to {MAX_RULE_NAME} characters."
        ));
    }
    if let Some(c) = name.chars().find(|c| matches!(c, '/' | '\\' | '?' | '#')) {
        return Err(format!(
            "The rule name '{name}' is not valid: it cannot contain '{c}'."
        ));
    }
    Ok(())
}

/// Why a rule could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleSetError {
    /// A rule of that name exists.
    Exists(String),
    /// The subscription has [`MAX_RULES`] rules.
    Full,
}

impl fmt::Display for RuleSetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exists(name) => write!(f, "The rule '{name}' already exists."),
            Self::Full => write!(
                f,
                "The subscription already has the maximum of {MAX_RULES} rules."
            ),
        }
    }
}

/// What a subscription's rules make of one message.
#[derive(Debug, Default)]
pub struct Admission<'r> {
    /// A rule without an action matched: the message goes in once, as sent.
    pub plain: bool,
    /// Matching rules with an action: one altered copy each.
    pub actions: Vec<&'r Rule>,
}

impl Admission<'_> {
    /// Whether the subscription gets nothing.
    pub fn is_empty(&self) -> bool {
        !self.plain && self.actions.is_empty()
    }
}

/// A subscription's rules, in the order they were added.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl Default for RuleSet {
    /// `$Default` alone.
    fn default() -> Self {
        Self {
            rules: vec![Rule::default_rule()],
        }
    }
}

impl RuleSet {
    /// A set of exactly these rules (names must be unique).
    pub fn of(rules: Vec<Rule>) -> Result<Self, RuleSetError> {
        let mut set = Self { rules: Vec::new() };
        for rule in rules {
            set.add(rule)?;
        }
        Ok(set)
    }

    /// The rules.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether this is the set a new subscription starts with (`$Default`, true, no action).
    pub fn is_default(&self) -> bool {
        matches!(self.rules.as_slice(),
            [Rule { name, filter: Filter::True, action: None }] if name == DEFAULT_RULE_NAME)
    }

    /// Adds a rule; its name must be new (case-insensitively).
    pub fn add(&mut self, rule: Rule) -> Result<(), RuleSetError> {
        if self.find(&rule.name).is_some() {
            return Err(RuleSetError::Exists(rule.name));
        }
        if self.rules.len() >= MAX_RULES {
            return Err(RuleSetError::Full);
        }
        self.rules.push(rule);
        Ok(())
    }

    /// Removes the rule `name` (case-insensitively); `false` if there is none.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Some(i) => {
                self.rules.remove(i);
                true
            }
            None => false,
        }
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// Whether evaluating this set needs the message's properties (a filter reads them, or
    /// an action will change a copy). `$Default` alone does not: the send path then skips
    /// decoding.
    pub fn needs_view(&self) -> bool {
        self.rules
            .iter()
            .any(|r| r.filter.reads_properties() || r.action.is_some())
    }

    /// Evaluates every rule against `message` (`None` when [`needs_view`](Self::needs_view)
    /// is false).
    pub fn admit(&self, message: Option<&MessageView>) -> Admission<'_> {
        let mut admission = Admission::default();
        for rule in &self.rules {
            if rule.action.is_none() && admission.plain {
                continue;
            }
            if rule.filter.matches(message) {
                match rule.action {
                    Some(_) => admission.actions.push(rule),
                    None => admission.plain = true,
                }
            }
        }
        admission
    }
}

#[cfg(test)]
#[path = "rule_tests.rs"]
mod tests;
