//! The registry of queues and topics, name rules, and what deleting an entity does to it.

use std::collections::HashMap;
use std::sync::Arc;

use super::handle::{EntityHandle, EntityShared};
use super::path::key;
use super::topic::TopicShared;
use super::{EntityError, EntityInfo};

/// Queues and topics by lower-case name (they share one name space).
#[derive(Default)]
pub(crate) struct Registry {
    pub queues: HashMap<String, Arc<EntityShared>>,
    pub topics: HashMap<String, Arc<TopicShared>>,
    pub next_id: u32,
}

impl Registry {
    /// Checks a queue or topic name is valid and free; returns its key and the next id.
    pub fn reserve(&self, name: &str) -> Result<(String, u32), EntityError> {
        validate_name(name, true)?;
        let k = key(name);
        if self.queues.contains_key(&k) || self.topics.contains_key(&k) {
            return Err(EntityError::AlreadyExists {
                path: name.to_owned(),
            });
        }
        Ok((k, self.next_id))
    }
}

pub(crate) fn info(h: &EntityHandle) -> Option<EntityInfo> {
    let counts = h.counts().ok()?;
    Some(EntityInfo {
        path: h.path().to_owned(),
        kind: h.kind(),
        options: Some(super::EntityOptions {
            status: h.status(),
            ..h.options().clone()
        }),
        topic_options: None,
        counts,
        runtime: super::runtime::entity_runtime(h).ok()?,
    })
}

pub(crate) fn mark_deleted(shared: &EntityShared) {
    let mut st = shared.lock();
    st.deleted = true;
    st.wake_everyone();
    st.main = Default::default();
    st.dlq = Default::default();
    st.tdlq = Default::default();
    st.outbox.clear();
    st.sessions = None;
    st.scheduled.clear();
    st.ttl.clear();
}

pub(crate) fn validate_name(name: &str, slashes: bool) -> Result<(), EntityError> {
    let bad = |why: &str| {
        EntityError::InvalidArgument(format!("'{name}' is not a valid entity name: {why}."))
    };
    if name.is_empty() || name.len() > 260 {
        return Err(bad("it must have 1 to 260 characters"));
    }
    let allowed =
        |c: char| c.is_alphanumeric() || matches!(c, '-' | '.' | '_') || (slashes && c == '/');
    if !name.chars().all(allowed) {
        return Err(bad(if slashes {
            "use letters, digits, '-', '.', '_' and '/'"
        } else {
            "use letters, digits, '-', '.' and '_'"
        }));
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(bad("'/' separates non-empty segments"));
    }
    if key(name).contains("/subscriptions/") {
        return Err(bad("'/Subscriptions/' is reserved for subscription paths"));
    }
    Ok(())
}
