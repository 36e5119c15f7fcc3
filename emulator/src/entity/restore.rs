//! Rebuilding entities from recovered log state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::activation::Numbering;
use super::forward::Router;
use super::handle::{EntityShared, Parts};
use super::journal::Journal;
use super::message::StoredMessage;
use super::path::key;
use super::registry::Registry;
use super::runtime::EntityTimes;
use super::state::{expiry, from_millis, instant_at, EntityState, Sub};
use super::timer::TimerHandle;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityKind, MessageState};
use crate::store::recovery::{Recovered, RecoveredEntity, RecoveredKind, RecoveredMessage};
use crate::store::rules::decode_rules;
use crate::store::StoreHandle;

/// Builds the registry from recovered state. Delivery counts start at 0 and nothing is locked.
pub(crate) fn restore(
    recovered: Recovered,
    store: &StoreHandle,
    timer: &TimerHandle,
    router: &Router,
) -> Registry {
    let mut reg = Registry {
        next_id: recovered.next_id,
        ..Registry::default()
    };
    let mut topics: HashMap<u32, Arc<TopicShared>> = HashMap::new();
    for (&id, e) in &recovered.entities {
        if let RecoveredKind::Topic(options) = &e.kind {
            let t = TopicShared::new(
                id,
                e.name.clone(),
                options.clone(),
                e.next_seq,
                Some(store.clone()),
            );
            let mut times = t.times.lock().unwrap_or_else(|p| p.into_inner());
            match e.times {
                Some((created, updated, accessed)) => {
                    *times = EntityTimes::from_ms(created, updated, accessed)
                }
                // Logged before times were kept: from now on they are.
                None => {
                    store.append(&times.record(id));
                }
            }
            drop(times);
            if let Some(status) = e.status {
                t.lifecycle.set_status(status);
            }
            restore_history(&t, e);
            topics.insert(id, t.clone());
            reg.topics.insert(key(&e.name), t);
        }
    }
    for (&id, e) in &recovered.entities {
        let parts = |parent| Parts {
            journal: Journal::new(Some(store.clone()), id),
            timer: timer.clone(),
            router: router.clone(),
            parent,
        };
        match &e.kind {
            RecoveredKind::Topic(_) => {}
            RecoveredKind::Queue(options) => {
                let q = EntityShared::new(
                    EntityKind::Queue,
                    key(&e.name),
                    e.name.clone(),
                    options.clone(),
                    parts(None),
                );
                fill(&q, e, Duration::MAX);
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
                    parts(Some(t.lifecycle.clone())),
                );
                s.lock().numbering = Numbering::topic(t);
                fill(&s, e, t.options.default_message_time_to_live);
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

fn restore_history(t: &TopicShared, e: &RecoveredEntity) {
    let mut dedup = t.dedup.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(d) = dedup.as_mut() {
        let (now, wall) = (Instant::now(), SystemTime::now());
        for (id, &(at_ms, seq)) in &e.seen {
            d.restore(id, from_millis(at_ms), seq, now, wall);
        }
    }
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

fn fill(shared: &EntityShared, e: &RecoveredEntity, ttl_cap: Duration) {
    let now = Instant::now();
    let wall = SystemTime::now();
    if let Some(status) = e.status {
        shared.lifecycle.set_status(status);
    }
    let mut st = shared.lock();
    st.next_seq = e.next_seq;
    match e.times {
        Some((created, updated, accessed)) => {
            st.times = EntityTimes::from_ms(created, updated, accessed)
        }
        None => st.log_times(),
    }
    for (&seq, m) in &e.messages {
        let msg = stored(&st, m, now, wall, false, ttl_cap);
        st.insert(Sub::Main, seq, msg);
    }
    for (&seq, m) in &e.dead_letters {
        let msg = stored(&st, m, now, wall, true, ttl_cap);
        st.insert(Sub::DeadLetter, seq, msg);
    }
    for (&seq, m) in &e.transfer_dead_letters {
        let msg = stored(&st, m, now, wall, true, ttl_cap);
        st.insert(Sub::TransferDeadLetter, seq, msg);
    }
    if let Some(d) = st.dedup.as_mut() {
        for (id, &(at_ms, seq)) in &e.seen {
            d.restore(id, from_millis(at_ms), seq, now, wall);
        }
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
    ttl_cap: Duration,
) -> StoredMessage {
    let scheduled = m.scheduled_ms.map(from_millis);
    // Not activated before the restart (activation clears `scheduled_ms` in the log): still
    // scheduled, even if due, so that `fill` activates it with a new number.
    let pending = scheduled.filter(|_| !dead && !m.deferred);
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
        ttl,
        enqueued: if pending.is_some() {
            from_millis(m.enqueued_ms)
        } else {
            base
        },
        expires: if dead {
            None
        } else {
            expiry(
                base,
                ttl,
                st.options.default_message_time_to_live.min(ttl_cap),
                now,
                wall,
            )
        },
        scheduled,
        activate_at: pending.map(|t| instant_at(t, now, wall)),
        state,
        delivery_count: 0,
        lock: None,
        dead_letter: m.dead_letter.as_ref().map(|(reason, description)| {
            Arc::new(DeadLetterInfo {
                reason: reason.clone(),
                description: description.clone(),
                source: m.dead_letter_source.clone(),
            })
        }),
        queued: false,
    }
}
