//! `EntityShared`: one queue's or subscription's options, path, status and the mutex around
//! its state; every operation runs through [`EntityShared::with`] (or its variants), which
//! applies what is due, re-arms the timer and forwards what left by auto-forwarding once the
//! lock is released.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::SystemTime;

use tokio::time::Instant;

use super::forward::{forward, Outgoing, Router};
use super::journal::Journal;
use super::state::EntityState;
use super::status::{Lifecycle, Operation};
use super::timer::TimerHandle;
use super::{EntityError, EntityKind, EntityOptions};
use crate::store::Commit;

/// One queue or subscription: options, path and the mutex around its state.
pub(crate) struct EntityShared {
    pub kind: EntityKind,
    /// Lower-case own name (the subscription name for subscriptions), for look-ups.
    pub key: String,
    pub path: Arc<str>,
    pub dlq_path: Arc<str>,
    pub tdlq_path: Arc<str>,
    pub options: EntityOptions,
    pub state: Mutex<EntityState>,
    /// Live status and last activity (a subscription's points at its topic's).
    pub lifecycle: Arc<Lifecycle>,
    pub router: Router,
    timer: TimerHandle,
    me: Weak<EntityShared>,
}

/// What an entity is made of besides its options: shared with the namespace.
pub(crate) struct Parts {
    pub journal: Journal,
    pub timer: TimerHandle,
    pub router: Router,
    /// The topic's lifecycle, for a subscription.
    pub parent: Option<Arc<Lifecycle>>,
}

impl EntityShared {
    pub fn new(
        kind: EntityKind,
        key: String,
        path: String,
        options: EntityOptions,
        parts: Parts,
    ) -> Arc<Self> {
        let path: Arc<str> = path.into();
        let dlq_path: Arc<str> = format!("{path}/$DeadLetterQueue").into();
        let tdlq_path: Arc<str> = format!("{path}/$Transfer/$DeadLetterQueue").into();
        let mut state = EntityState::new(options.clone(), path.clone(), parts.journal);
        state.scheduled_at_topic = kind == EntityKind::Subscription;
        Arc::new_cyclic(|me| Self {
            kind,
            key,
            state: Mutex::new(state),
            path,
            dlq_path,
            tdlq_path,
            lifecycle: Lifecycle::new(options.status, parts.parent),
            options,
            router: parts.router,
            timer: parts.timer,
            me: me.clone(),
        })
    }

    /// The state, even if a panic poisoned the mutex (every change keeps it consistent).
    pub fn lock(&self) -> MutexGuard<'_, EntityState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs a receiving-side `f` (receive, settle, peek, sessions) on the state after applying
    /// what is due, then re-arms the timer; refused while the status disables receiving.
    /// Counts as activity.
    pub fn with<R>(
        &self,
        f: impl FnOnce(&mut EntityState, Instant, SystemTime) -> Result<R, EntityError>,
    ) -> Result<R, EntityError> {
        self.lifecycle.check(Operation::Receive, &self.path)?;
        self.lifecycle.touch();
        self.run(f)
    }

    /// Like [`with`](Self::with) for the sending side (the caller checks the status).
    pub fn with_any<R>(
        &self,
        f: impl FnOnce(&mut EntityState, Instant, SystemTime) -> Result<R, EntityError>,
    ) -> Result<R, EntityError> {
        self.lifecycle.touch();
        self.run(f)
    }

    /// Like [`with`](Self::with) with no status check and no activity (counts, bookkeeping).
    pub fn with_quiet<R>(
        &self,
        f: impl FnOnce(&mut EntityState, Instant, SystemTime) -> Result<R, EntityError>,
    ) -> Result<R, EntityError> {
        self.run(f)
    }

    fn run<R>(
        &self,
        f: impl FnOnce(&mut EntityState, Instant, SystemTime) -> Result<R, EntityError>,
    ) -> Result<R, EntityError> {
        let mut st = self.lock();
        if st.deleted {
            return Err(EntityError::not_found(&self.path));
        }
        let now = Instant::now();
        st.process_due(now);
        let result = f(&mut st, now, SystemTime::now());
        self.rearm(&mut st);
        let outbox = std::mem::take(&mut st.outbox);
        drop(st);
        self.send_on(outbox);
        result
    }

    /// Forwards what left the entity by auto-forwarding (no lock held).
    fn send_on(&self, outbox: Vec<Outgoing>) {
        if outbox.is_empty() {
            return;
        }
        if let Some(me) = self.me.upgrade() {
            for out in outbox {
                forward(&me, out);
            }
        }
    }

    /// Accepts a message forwarded here (following this entity's own forwarding).
    pub fn accept_forwarded(self: &Arc<Self>, out: &Outgoing) -> Result<(i64, Commit), EntityError> {
        self.lifecycle.check(Operation::Send, &self.path)?;
        let mut seq = None;
        let (outgoing, mut commit) = self.with_any(|st, now, wall| {
            let outgoing = st.accept(
                std::slice::from_ref(&out.msg),
                out.carried.as_ref(),
                out.hops,
                now,
                wall,
                |s| seq = s,
            )?;
            Ok((outgoing, st.journal.commit()))
        })?;
        for o in outgoing {
            let (s, c) = forward(self, o);
            commit = commit.and(c);
            seq = seq.or(s);
        }
        Ok((seq.unwrap_or(0), commit))
    }

    /// Arms the namespace timer if the earliest deadline moved earlier.
    pub fn rearm(&self, st: &mut EntityState) {
        if let Some(next) = st.next_deadline() {
            if st.armed.is_none_or(|armed| next < armed) {
                st.armed = Some(next);
                self.timer.arm(next, self.me.clone());
            }
        }
    }

    /// Called by the namespace timer when the armed deadline passes.
    pub fn on_timer(&self) {
        let mut st = self.lock();
        st.armed = None;
        if st.deleted {
            return;
        }
        st.process_due(Instant::now());
        self.rearm(&mut st);
        let outbox = std::mem::take(&mut st.outbox);
        drop(st);
        self.send_on(outbox);
    }
}

