//! Creating the configured entities (destinations of auto-forwarding first), the checks
//! forwarding options get at creation, and changing an entity's status.

use super::namespace::Namespace;
use super::path::key;
use super::registry::Registry;
use super::state::Sub;
use super::{
    Commit, EntitiesConfig, EntityError, EntityOptions, EntityPath, EntityStatus, Node,
};
use crate::store::record::Record;

/// Checks the forwarding destinations of an entity about to be created at `path`: each must be
/// an existing queue or topic (Service Bus: "The destination entity must exist at the time the
/// source entity is created") and not the entity itself.
pub(super) fn check_forwarding(
    reg: &Registry,
    path: &str,
    options: &EntityOptions,
) -> Result<(), EntityError> {
    let targets = [
        ("forward_to", &options.forward_to),
        (
            "forward_dead_lettered_messages_to",
            &options.forward_dead_lettered_messages_to,
        ),
    ];
    for (what, target) in targets {
        let Some(target) = target.as_deref() else {
            continue;
        };
        let k = key(target.trim_matches('/'));
        if k == key(path) {
            return Err(EntityError::InvalidArgument(format!(
                "{what}: the entity '{path}' cannot forward to itself."
            )));
        }
        if !reg.queues.contains_key(&k) && !reg.topics.contains_key(&k) {
            return Err(EntityError::InvalidArgument(format!(
                "{what}: the destination '{target}' must be an existing queue or topic of this namespace."
            )));
        }
    }
    Ok(())
}

impl Namespace {
    /// Creates the configured entities that do not exist yet (existing ones are left as they
    /// are). Entities are created once the queues and topics they forward to exist, so a
    /// configuration may list them in any order; a destination that is never created fails.
    pub fn apply_config(&self, config: &EntitiesConfig) -> Result<Commit, EntityError> {
        let mut commit = Commit::ready();
        let mut pending: Vec<Box<dyn Fn() -> Result<Commit, EntityError> + '_>> = Vec::new();
        for q in &config.queues {
            pending.push(Box::new(move || self.create_queue(&q.name, q.options())));
        }
        for t in &config.topics {
            pending.push(Box::new(move || {
                self.create_topic_with(&t.name, t.options())
            }));
            for s in &t.subscriptions {
                pending.push(Box::new(move || match s.rule_set()? {
                    Some(rules) => {
                        self.create_subscription_with_rules(&t.name, &s.name, s.options(), rules)
                    }
                    None => self.create_subscription(&t.name, &s.name, s.options()),
                }));
            }
        }
        while !pending.is_empty() {
            let mut waiting = Vec::new();
            let mut last_error = None;
            let before = pending.len();
            for create in pending {
                match create() {
                    Ok(c) => commit = commit.and(c),
                    Err(EntityError::AlreadyExists { .. }) => {}
                    Err(e @ EntityError::InvalidArgument(_)) | Err(e @ EntityError::NotFound { .. }) => {
                        last_error = Some(e);
                        waiting.push(create);
                    }
                    Err(e) => return Err(e),
                }
            }
            if waiting.len() == before {
                if let Some(e) = last_error {
                    return Err(e);
                }
            }
            pending = waiting;
        }
        Ok(commit)
    }

    /// Changes the status of a queue, topic or subscription (an update: counts as activity).
    pub fn set_status(&self, path: &str, status: EntityStatus) -> Result<Commit, EntityError> {
        let parsed = EntityPath::parse(path)?;
        if parsed.dead_letter {
            return Err(EntityError::InvalidArgument(format!(
                "'{path}' is a sub-queue; change the status of its entity."
            )));
        }
        match self.resolve(path)? {
            Node::Entity(h) => {
                let id = h.shared.lock().journal.id;
                let commit = self.log(Record::SetStatus { entity: id, status })?;
                h.shared.lifecycle.set_status(status);
                h.shared.lifecycle.touch();
                Ok(commit)
            }
            Node::Topic(t) => {
                let commit = self.log(Record::SetStatus {
                    entity: t.shared.id,
                    status,
                })?;
                t.shared.lifecycle.set_status(status);
                t.shared.lifecycle.touch();
                Ok(commit)
            }
        }
    }

    /// After recovery: sends on what forwarding entities still hold (a crash came between a
    /// message's arrival and its forward).
    pub(super) fn forward_recovered(&self) {
        let reg = self.read();
        let mut entities: Vec<_> = reg.queues.values().cloned().collect();
        for t in reg.topics.values() {
            entities.extend(
                t.subscriptions
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                    .cloned(),
            );
        }
        drop(reg);
        for e in entities {
            let forwards = e.options.forward_to.is_some();
            let forwards_dead_letters = e.options.forward_dead_lettered_messages_to.is_some();
            if !forwards && !forwards_dead_letters {
                continue;
            }
            let _ = e.with_quiet(|st, _, _| {
                let take = |sub: Sub, st: &mut super::state::EntityState| {
                    let seqs: Vec<i64> = st
                        .sub(sub)
                        .messages
                        .iter()
                        .filter(|(_, m)| m.state == super::MessageState::Active)
                        .map(|(&seq, _)| seq)
                        .collect();
                    for seq in seqs {
                        if let Some(m) = st.remove(sub, seq) {
                            let out = super::forward::Outgoing::from_stored(
                                seq,
                                sub,
                                sub == Sub::DeadLetter,
                                m,
                            );
                            st.outbox.push(out);
                        }
                    }
                };
                if forwards {
                    take(Sub::Main, st);
                }
                if forwards_dead_letters {
                    take(Sub::DeadLetter, st);
                }
                Ok(())
            });
        }
    }
}
