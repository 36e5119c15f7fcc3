//! Rebuilding entities from recovered log state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::handle::EntityShared;
use super::journal::Journal;
use super::message::StoredMessage;
use super::path::key;
use super::registry::Registry;
use super::state::{expiry, from_millis, instant_at, EntityState, Sub};
use super::timer::TimerHandle;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityKind, MessageState};
use crate::store::recovery::{Recovered, RecoveredEntity, RecoveredKind, RecoveredMessage};
use crate::store::rules::decode_rules;
use crate::store::StoreHandle;

/// Builds the registry from recovered state. Delivery counts start at 0 and nothing is locked.
pub(crate) fn restore(recovered: Recovered, store: &StoreHandle, timer: &TimerHandle) -> Registry {
    let mut reg = Registry {
        next_id: recovered.next_id,
        ..Registry::default()
    };
    let mut topics: HashMap<u32, Arc<TopicShared>> = HashMap::new();
    for (&id, e) in &recovered.entities {
        if e.kind == RecoveredKind::Topic {
            let t = TopicShared::new(id, e.name.clone(), e.next_seq, Some(store.clone()));
            topics.insert(id, t.clone());
            reg.topics.insert(key(&e.name), t);
        }
    }
    for (&id, e) in &recovered.entities {
        let journal = Journal::new(Some(store.clone()), id);
        match &e.kind {
            RecoveredKind::Topic => {}
            RecoveredKind::Queue(options) => {
                let q = EntityShared::new(
                    EntityKind::Queue,
                    key(&e.name),
                    e.name.clone(),
                    options.clone(),
                    journal,
                    timer.clone(),
                );
                fill(&q, e);
                reg.queues.insert(key(&e.name), q);
            }
            RecoveredKind::Subscription { topic, options } => {
                let Some(t) = topics.get(topic) else {
                    tracing::warn!(subscription = %e.name, "dropping a recovered subscription whose topic is gone");
                    continue;
                };
                let path = format!("{}/Subscriptions/{}", t.name, e.name);
                let s = EntityShared::new(
                    EntityKind::Subscription,
                    key(&e.name),
                    path,
                    options.clone(),
                    journal,
                    timer.clone(),
                );
                fill(&s, e);
                restore_rules(&s, e);
                t.subscriptions
                    .write()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(s);
            }
        }
    }
    reg
}

/// Sets a subscription's logged rule set (none logged: it keeps `$Default`). Rules that no
/// longer parse are dropped with a warning rather than admitting every message.
fn restore_rules(shared: &EntityShared, e: &RecoveredEntity) {
    let Some(bytes) = &e.rules else {
        return;
    };
    match decode_rules(bytes) {
        Ok((rules, skipped)) => {
            for why in skipped {
                tracing::warn!(subscription = %shared.path, %why, "dropping a recovered rule");
            }
            shared.lock().rules = rules;
        }
        Err(error) => {
            tracing::warn!(subscription = %shared.path, error = error.0, "recovered rules unreadable; the subscription keeps none");
            shared.lock().rules = crate::filter::RuleSet::of(Vec::new()).unwrap_or_default();
        }
    }
}

fn fill(shared: &EntityShared, e: &RecoveredEntity) {
    let now = Instant::now();
    let wall = SystemTime::now();
    let mut st = shared.lock();
    st.next_seq = e.next_seq;
    for (&seq, m) in &e.messages {
        let msg = stored(&st, m, now, wall, false);
        st.insert(Sub::Main, seq, msg);
    }
    for (&seq, m) in &e.dead_letters {
        let msg = stored(&st, m, now, wall, true);
        st.insert(Sub::DeadLetter, seq, msg);
    }
    if let Some(sessions) = st.sessions.as_mut() {
        for (id, (state, updated_ms)) in &e.session_states {
            let k = sessions.key(id);
            if let Some(slot) = sessions.slots.get_mut(&k) {
                slot.state = Some(state.clone());
                slot.state_updated = Some(from_millis(*updated_ms));
            }
        }
    }
    st.process_due(now);
    shared.rearm(&mut st);
}

fn stored(
    st: &EntityState,
    m: &RecoveredMessage,
    now: Instant,
    wall: SystemTime,
    dead: bool,
) -> StoredMessage {
    let scheduled = m.scheduled_ms.map(from_millis);
    let pending = scheduled.filter(|t| *t > wall && !dead && !m.deferred);
    let base = scheduled.unwrap_or_else(|| from_millis(m.enqueued_ms));
    let ttl = m.ttl_ms.map(|ms| Duration::from_millis(ms.unsigned_abs()));
    let state = if m.deferred {
        MessageState::Deferred
    } else if pending.is_some() {
        MessageState::Scheduled
    } else {
        MessageState::Active
    };
    StoredMessage {
        body: m.body.clone(),
        session: m.session.as_deref().map(Arc::from),
        enqueued: if pending.is_some() {
            from_millis(m.enqueued_ms)
        } else {
            base
        },
        expires: expiry(
            base,
            ttl,
            st.options.default_message_time_to_live,
            now,
            wall,
        ),
        scheduled,
        activate_at: pending.map(|t| instant_at(t, now, wall)),
        state,
        delivery_count: 0,
        lock: None,
        dead_letter: m.dead_letter.as_ref().map(|(reason, description)| {
            Arc::new(DeadLetterInfo {
                reason: reason.clone(),
                description: description.clone(),
                source: None,
            })
        }),
        queued: false,
    }
}
