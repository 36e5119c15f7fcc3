//! Managing a subscription's rules: add, remove, list, each change logged as the whole new
//! rule set (one `Rules` record) so recovery needs no history.

use super::handle::EntityShared;
use super::{EntityError, EntityKind, Namespace, Node};
use crate::filter::{Rule, RuleSet, RuleSetError};
use crate::store::record::Record;
use crate::store::rules::encode_rules;
use crate::store::{Commit, StoreHandle};

/// Text used when rules are asked of something other than a subscription.
pub const RULES_ON_SUBSCRIPTIONS_ONLY: &str =
    "Rules exist only on topic subscriptions; this entity is not one.";

/// Logs `rules` for the new subscription `id` unless they are the default set.
pub(super) fn log_rules(
    store: Option<&StoreHandle>,
    id: u32,
    rules: &RuleSet,
) -> Result<Commit, EntityError> {
    match store {
        Some(store) if !rules.is_default() => {
            store.healthy()?;
            let bytes = encode_rules(rules);
            let lsn = store.append(&Record::Rules {
                entity: id,
                rules: &bytes,
            });
            Ok(store.commit(lsn))
        }
        _ => Ok(Commit::ready()),
    }
}

impl Namespace {
    /// The subscription at `path` (not a queue, topic or dead-letter sub-queue).
    fn subscription_for_rules(&self, path: &str) -> Result<std::sync::Arc<EntityShared>, EntityError> {
        match self.resolve(path)? {
            Node::Entity(h) if h.kind() == EntityKind::Subscription && !h.is_dead_letter_queue() => {
                Ok(h.shared)
            }
            _ => Err(EntityError::NotAllowed(RULES_ON_SUBSCRIPTIONS_ONLY.into())),
        }
    }

    /// Adds `rule` to the subscription at `path`. A rule of the same name (compared
    /// case-insensitively) is `AlreadyExists`.
    pub fn add_rule(&self, path: &str, rule: Rule) -> Result<Commit, EntityError> {
        self.change_rules(path, |rules, subscription| {
            rules.add(rule).map_err(|e| match e {
                RuleSetError::Exists(name) => EntityError::AlreadyExists {
                    path: rule_path(subscription, &name),
                },
                full @ RuleSetError::Full => EntityError::ArgumentOutOfRange(full.to_string()),
            })
        })
    }

    /// Removes the rule `name` from the subscription at `path`; `NotFound` if it has none of
    /// that name.
    pub fn remove_rule(&self, path: &str, name: &str) -> Result<Commit, EntityError> {
        self.change_rules(path, |rules, subscription| {
            if rules.remove(name) {
                Ok(())
            } else {
                Err(EntityError::not_found(&rule_path(subscription, name)))
            }
        })
    }

    /// Applies `change` to a copy of the rules and, if it succeeds, logs and keeps the copy.
    fn change_rules(
        &self,
        path: &str,
        change: impl FnOnce(&mut RuleSet, &str) -> Result<(), EntityError>,
    ) -> Result<Commit, EntityError> {
        let shared = self.subscription_for_rules(path)?;
        // Management: allowed whatever the subscription's status; counts as activity.
        shared.with_any(|st, _, _| {
            st.journal.check()?;
            let mut rules = st.rules.clone();
            change(&mut rules, &shared.path)?;
            let bytes = encode_rules(&rules);
            st.journal.log(|id| Record::Rules {
                entity: id,
                rules: &bytes,
            });
            st.rules = rules;
            Ok(st.journal.commit())
        })
    }

    /// The rules of the subscription at `path`, in the order they were added.
    pub fn rules(&self, path: &str) -> Result<Vec<Rule>, EntityError> {
        let shared = self.subscription_for_rules(path)?;
        // Reading: allowed whatever the status, and not activity.
        shared.with_quiet(|st, _, _| Ok(st.rules.rules().to_vec()))
    }
}

/// How a rule is named in errors: `topic/Subscriptions/sub/Rules/name`.
fn rule_path(subscription: &str, name: &str) -> String {
    format!("{subscription}/Rules/{name}")
}
