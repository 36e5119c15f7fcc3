//! Subscription rules in configuration (entities TOML, the admin API's JSON):
//!
//! ```toml
//! [[topics.subscriptions]]
//! name = "audit"
//! [[topics.subscriptions.rules]]
//! name = "red"
//! sql = "color = 'red'"
//! action = "SET seen = TRUE"
//! [[topics.subscriptions.rules]]
//! name = "created"
//! correlation = { label = "created", properties = { region = "eu" } }
//! [[topics.subscriptions.rules]]
//! name = "nothing"
//! filter = false
//! ```
//!
//! A subscription without `rules` gets `$Default`; `rules = []` gives it none (it receives
//! nothing). A rule gives one of `sql`, `correlation` or `filter` (true or false; none of
//! them: true) and optionally an `action`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::EntityError;
use crate::filter::{Action, CorrelationFilter, Filter, Rule, RuleSet, Value};

/// One `[[topics.subscriptions.rules]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The rule's name (1 to 50 characters).
    pub name: String,
    /// A SQL filter expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sql: Option<String>,
    /// A correlation filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<CorrelationConfig>,
    /// The true (`true`) or false (`false`) filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<bool>,
    /// A SQL rule action run on the copy the rule admits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// A correlation filter's properties; every one given must equal the message's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationConfig {
    /// `sys.CorrelationId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// `sys.MessageId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// `sys.To`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// `sys.ReplyTo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// `sys.Label` (the SDKs' subject; `subject` is accepted too).
    #[serde(default, alias = "subject", skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// `sys.SessionId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// `sys.ReplyToSessionId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_session_id: Option<String>,
    /// `sys.ContentType`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// User properties (strings, integers, floats, booleans).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub properties: BTreeMap<String, PropertyValue>,
}

/// A user property value in configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PropertyValue {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Text(String),
}

impl RuleConfig {
    /// The rule this table describes; the error names the rule and says what is wrong
    /// (a bad SQL expression: its line, column and reason).
    pub fn rule(&self) -> Result<Rule, String> {
        let name = &self.name;
        let given = [self.sql.is_some(), self.correlation.is_some(), self.filter.is_some()];
        if given.iter().filter(|g| **g).count() > 1 {
            return Err(format!(
                "rule `{name}`: give one of sql, correlation or filter, not several"
            ));
        }
        let filter = if let Some(sql) = &self.sql {
            Filter::sql(sql, Vec::new())
                .map_err(|e| format!("rule `{name}`: invalid SQL filter: {e}"))?
        } else if let Some(c) = &self.correlation {
            Filter::Correlation(c.filter())
        } else if self.filter == Some(false) {
            Filter::False
        } else {
            Filter::True
        };
        let action = self
            .action
            .as_deref()
            .map(|a| Action::new(a, Vec::new()))
            .transpose()
            .map_err(|e| format!("rule `{name}`: invalid SQL action: {e}"))?;
        Rule::new(name, filter, action).map_err(|e| format!("rule `{name}`: {e}"))
    }

    /// The table for `rule` (how the admin API lists rules).
    pub fn of(rule: &Rule) -> Self {
        let mut config = Self {
            name: rule.name.clone(),
            sql: None,
            correlation: None,
            filter: None,
            action: rule.action.as_ref().map(|a| a.expression().to_owned()),
        };
        match &rule.filter {
            Filter::True => config.filter = Some(true),
            Filter::False => config.filter = Some(false),
            Filter::Sql { filter, .. } => config.sql = Some(filter.expression().to_owned()),
            Filter::Correlation(c) => config.correlation = Some(CorrelationConfig::of(c)),
        }
        config
    }
}

impl CorrelationConfig {
    fn filter(&self) -> CorrelationFilter {
        CorrelationFilter {
            correlation_id: self.correlation_id.clone(),
            message_id: self.message_id.clone(),
            to: self.to.clone(),
            reply_to: self.reply_to.clone(),
            label: self.label.clone(),
            session_id: self.session_id.clone(),
            reply_to_session_id: self.reply_to_session_id.clone(),
            content_type: self.content_type.clone(),
            properties: self
                .properties
                .iter()
                .map(|(k, v)| (k.clone(), v.value()))
                .collect(),
        }
    }

    fn of(c: &CorrelationFilter) -> Self {
        Self {
            correlation_id: c.correlation_id.clone(),
            message_id: c.message_id.clone(),
            to: c.to.clone(),
            reply_to: c.reply_to.clone(),
            label: c.label.clone(),
            session_id: c.session_id.clone(),
            reply_to_session_id: c.reply_to_session_id.clone(),
            content_type: c.content_type.clone(),
            properties: c
                .properties
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), PropertyValue::of(v)?)))
                .collect(),
        }
    }
}

impl PropertyValue {
    fn value(&self) -> Value {
        match self {
            Self::Bool(b) => Value::Bool(*b),
            Self::Integer(i) => Value::Long(*i),
            Self::Float(f) => Value::Double(*f),
            Self::Text(s) => Value::String(s.clone()),
        }
    }

    fn of(value: &Value) -> Option<Self> {
        Some(match value {
            Value::Bool(b) => Self::Bool(*b),
            Value::Long(i) => Self::Integer(*i),
            Value::Double(f) => Self::Float(*f),
            Value::String(s) => Self::Text(s.clone()),
            _ => return None,
        })
    }
}

/// The rule set `rules` describe (`None`: not given, so `$Default`).
pub(crate) fn rule_set(rules: Option<&[RuleConfig]>) -> Result<Option<RuleSet>, String> {
    let Some(rules) = rules else {
        return Ok(None);
    };
    let rules = rules.iter().map(RuleConfig::rule).collect::<Result<_, _>>()?;
    RuleSet::of(rules).map(Some).map_err(|e| e.to_string())
}

/// [`rule_set`] as an entity error.
pub(crate) fn rule_set_or_error(rules: Option<&[RuleConfig]>) -> Result<Option<RuleSet>, EntityError> {
    rule_set(rules).map_err(EntityError::InvalidArgument)
}
