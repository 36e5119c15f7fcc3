//! Auto-delete on idle: a queue, topic or subscription with `auto_delete_on_idle` is deleted
//! once it has been idle that long.
//!
//! What counts as activity, after Service Bus's docs ("Message expiration", idleness):
//! * a queue: sends, receives, peeks, settlement and session operations, updates (status),
//!   and holding scheduled messages;
//! * a topic: sends, scheduled messages (held by any subscription), updates, and any
//!   operation on one of its subscriptions;
//! * a subscription: receives, peeks, settlement and session operations, updates.
//!
//! Creation starts the idle clock. A receiver that waits on an empty entity does not keep
//! polling it (it is woken when a message arrives), so waiting alone does not count: chosen
//! because Service Bus counts receive calls, and a waiting link makes none here.
//!
//! A sweeper task checks every [`SWEEP_EVERY`] on the namespace's Tokio runtime (with
//! paused time in tests, `tokio::time::advance` drives it); an entity is deleted within that
//! long of its deadline.

use std::sync::Weak;
use std::time::Duration;

use tokio::time::Instant;

use super::handle::EntityShared;
use super::namespace::{Inner, Namespace};
use super::MessageState;

/// How often idle entities are looked for.
pub const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// Starts the sweeper on the current Tokio runtime (outside one, entities never auto-delete).
pub(super) fn start_sweeper(namespace: &Namespace) {
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let weak = std::sync::Arc::downgrade(&namespace.inner);
    rt.spawn(sweep_forever(weak));
}

async fn sweep_forever(inner: Weak<Inner>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(inner) = inner.upgrade() else {
            return;
        };
        Namespace { inner }.delete_idle(Instant::now());
    }
}

fn idle_for(last: Instant, now: Instant) -> Duration {
    now.saturating_duration_since(last)
}

fn has_scheduled(e: &EntityShared) -> bool {
    e.lock()
        .main
        .messages
        .values()
        .any(|m| m.state == MessageState::Scheduled)
}

impl Namespace {
    /// Deletes every entity idle for its `auto_delete_on_idle` at `now`; returns their paths.
    pub(super) fn delete_idle(&self, now: Instant) -> Vec<String> {
        let mut due = Vec::new();
        {
            let reg = self.read();
            for q in reg.queues.values() {
                let limit = q.options.auto_delete_on_idle;
                if idle_for(q.lifecycle.last_active(), now) >= limit && !has_scheduled(q) {
                    due.push(q.path.to_string());
                }
            }
            for t in reg.topics.values() {
                let subs = t.subscriptions.read().unwrap_or_else(|e| e.into_inner());
                let limit = t.options.auto_delete_on_idle;
                if idle_for(t.lifecycle.last_active(), now) >= limit
                    && !subs.iter().any(|s| has_scheduled(s))
                {
                    due.push(t.name.to_string());
                    continue;
                }
                for s in subs.iter() {
                    let limit = s.options.auto_delete_on_idle;
                    if idle_for(s.lifecycle.last_active(), now) >= limit && !has_scheduled(s) {
                        due.push(s.path.to_string());
                    }
                }
            }
        }
        due.retain(|path| match self.delete(path) {
            Ok(_) => {
                tracing::info!(entity = %path, "deleted after being idle for its auto_delete_on_idle");
                true
            }
            Err(e) => {
                tracing::debug!(entity = %path, error = %e, "idle entity not deleted");
                false
            }
        });
        due
    }
}
