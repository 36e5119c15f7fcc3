//! `EntityHandle`: a queue or subscription (or its dead-letter sub-queue) resolved once and used
//! for every receive, settle and management operation.

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::Waker;
use std::time::SystemTime;

use tokio::time::Instant;

use super::forward::{forward, Outgoing, Router};
use super::journal::Journal;
use super::session::SessionLock;
use super::state::{EntityState, Sub};
use super::status::{Lifecycle, Operation};
use super::timer::TimerHandle;
use super::wait::{take_many, wait_until};
use super::{
    Disposition, EntityCounts, EntityError, EntityKind, EntityOptions, EntityStatus, LockToken,
    MessageState, ReceiveMode, ReceivedMessage,
};
use crate::store::Commit;

/// Largest session state accepted (256 KiB, the Standard tier's message size).
pub const MAX_SESSION_STATE_BYTES: usize = 256 * 1024;

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
        Arc::new_cyclic(|me| Self {
            kind,
            key,
            state: Mutex::new(EntityState::new(options.clone(), path.clone(), parts.journal)),
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
        let (seqs, outgoing, mut commit) = self.with_any(|st, now, wall| {
            let (seqs, outgoing) = st.accept(
                std::slice::from_ref(&out.msg),
                out.carried.as_ref(),
                out.hops,
                now,
                wall,
            )?;
            Ok((seqs, outgoing, st.journal.commit()))
        })?;
        let mut seq = seqs.first().copied().flatten();
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

/// A queue or subscription, or its dead-letter sub-queue. Cheap to clone; resolve it once (per
/// link) with [`Namespace::receiver`](super::Namespace::receiver) and keep it.
#[derive(Clone)]
pub struct EntityHandle {
    pub(crate) shared: Arc<EntityShared>,
    pub(crate) sub: Sub,
}

impl EntityHandle {
    pub(crate) fn new(shared: Arc<EntityShared>, sub: Sub) -> Self {
        Self { shared, sub }
    }

    /// Canonical path: `orders`, `topic/Subscriptions/sub`, with `/$DeadLetterQueue` for a DLQ.
    pub fn path(&self) -> &str {
        match self.sub {
            Sub::Main => &self.shared.path,
            Sub::DeadLetter => &self.shared.dlq_path,
            Sub::TransferDeadLetter => &self.shared.tdlq_path,
        }
    }

    /// Queue or subscription.
    pub fn kind(&self) -> EntityKind {
        self.shared.kind
    }

    /// Whether this is a dead-letter sub-queue (or the transfer dead-letter sub-queue).
    pub fn is_dead_letter_queue(&self) -> bool {
        self.sub != Sub::Main
    }

    /// The entity's transfer dead-letter sub-queue (`$Transfer/$DeadLetterQueue`): messages
    /// auto-forwarding could not deliver.
    pub fn transfer_dead_letter_queue(&self) -> EntityHandle {
        Self::new(self.shared.clone(), Sub::TransferDeadLetter)
    }

    /// The entity's status now (a subscription's own; its topic's may refuse more).
    pub fn status(&self) -> EntityStatus {
        self.shared.lifecycle.status()
    }

    /// When the entity was last active (sends, receives, peeks, settlement, session
    /// operations, updates), on the broker's monotonic clock.
    pub fn last_active(&self) -> Instant {
        self.shared.lifecycle.last_active()
    }

    /// Messages waiting to be auto-forwarded and messages in the transfer dead-letter
    /// sub-queue (`TransferMessageCount`, `TransferDeadLetterMessageCount`).
    pub fn transfer_counts(&self) -> Result<TransferCounts, EntityError> {
        self.shared.with_quiet(|st, _, _| {
            Ok(TransferCounts {
                transfer: st.outbox.len(),
                transfer_dead_lettered: st.tdlq.messages.len(),
            })
        })
    }

    /// The entity's options.
    pub fn options(&self) -> &EntityOptions {
        &self.shared.options
    }

    /// Whether receivers must use sessions (never for a dead-letter sub-queue).
    pub fn requires_session(&self) -> bool {
        self.sub == Sub::Main && self.shared.options.requires_session
    }

    /// The entity's dead-letter sub-queue.
    pub fn dead_letter_queue(&self) -> EntityHandle {
        Self::new(self.shared.clone(), Sub::DeadLetter)
    }

    /// The entity's main queue (itself, or the entity a dead-letter handle belongs to).
    pub fn main_queue(&self) -> EntityHandle {
        Self::new(self.shared.clone(), Sub::Main)
    }

    /// Runtime counts (O(messages): for diagnostics and management, not the hot path).
    pub fn counts(&self) -> Result<EntityCounts, EntityError> {
        self.shared.with_quiet(|st, _, _| {
            let mut c = EntityCounts {
                dead_lettered: st.dlq.messages.len(),
                locked: st.main.locks.len() + st.dlq.locks.len(),
                sessions: st.sessions.as_ref().map_or(0, |s| s.slots.len()),
                size_bytes: st.size_bytes,
                ..EntityCounts::default()
            };
            for m in st.main.messages.values() {
                match m.state {
                    MessageState::Active => c.active += 1,
                    MessageState::Deferred => c.deferred += 1,
                    MessageState::Scheduled => c.scheduled += 1,
                }
            }
            Ok(c)
        })
    }

    /// Takes the next available message (lowest sequence number first) of a plain queue,
    /// subscription or dead-letter sub-queue. With none available it returns `Ok(None)` and,
    /// if given, registers `waker`, which is woken (once) when a message may be available.
    /// Wakers are woken under the entity lock: they must not call back into the entity.
    /// Fails with `NotAllowed` on a session entity's main queue.
    pub fn try_receive(
        &self,
        mode: ReceiveMode,
        waker: Option<&Waker>,
    ) -> Result<Option<ReceivedMessage>, EntityError> {
        self.shared
            .with(|st, now, wall| st.receive(self.sub, mode, now, wall, waker))
    }

    /// Like [`try_receive`](Self::try_receive) for up to `max` messages under one lock;
    /// appends to `out` and returns how many. `waker` is registered only if none was taken.
    pub fn try_receive_many(
        &self,
        mode: ReceiveMode,
        max: usize,
        out: &mut Vec<ReceivedMessage>,
        waker: Option<&Waker>,
    ) -> Result<usize, EntityError> {
        self.shared.with(|st, now, wall| {
            take_many(max, out, waker, |w| {
                st.receive(self.sub, mode, now, wall, w)
            })
        })
    }

    /// Waits for and takes the next message.
    pub async fn receive(&self, mode: ReceiveMode) -> Result<ReceivedMessage, EntityError> {
        wait_until(|w| self.try_receive(mode, Some(w))).await
    }

    /// Settles the message locked with `token` (by any receiver of this entity, as
    /// `$management` `update-disposition` does). Unknown, expired or settled tokens fail with
    /// `MessageLockLost` (`SessionLockLost` on a session entity).
    pub fn settle(
        &self,
        token: &LockToken,
        disposition: Disposition,
    ) -> Result<Commit, EntityError> {
        self.shared.with(|st, now, _| {
            st.journal.check()?;
            st.settle(self.sub, token, disposition, None, now)?;
            Ok(st.journal.commit())
        })
    }

    /// A commit covering everything logged so far, for a reply that shows the entity's state
    /// (peek, session state, session list, deferred messages): shown only once on disk.
    pub fn commit_all(&self) -> Commit {
        self.shared.lock().journal.commit_all()
    }

    /// Renews a message lock; returns the new locked-until.
    pub fn renew_lock(&self, token: &LockToken) -> Result<SystemTime, EntityError> {
        self.shared
            .with(|st, now, wall| st.renew_lock(self.sub, token, now, wall))
    }

    /// Peeks up to `max` messages from sequence number `from_seq` on (active, deferred,
    /// scheduled; locked or not) without locking them; `session` keeps one session's.
    pub fn peek(
        &self,
        from_seq: i64,
        max: usize,
        session: Option<&str>,
    ) -> Result<Vec<ReceivedMessage>, EntityError> {
        self.shared
            .with(|st, _, _| Ok(st.peek(self.sub, from_seq, max, session)))
    }

    /// Receives deferred messages by sequence number. On a session entity `session` is required
    /// and must be locked; its messages are locked under the session lock.
    pub fn receive_deferred(
        &self,
        seqs: &[i64],
        mode: ReceiveMode,
        session: Option<&str>,
    ) -> Result<Vec<ReceivedMessage>, EntityError> {
        self.shared
            .with(|st, now, wall| st.receive_deferred(self.sub, seqs, mode, session, now, wall))
    }

    fn main_only(&self) -> Result<(), EntityError> {
        match self.sub {
            Sub::Main => Ok(()),
            Sub::DeadLetter | Sub::TransferDeadLetter => Err(EntityError::NotAllowed(
                super::error::SESSION_RECEIVER_ON_SESSIONLESS_ENTITY.into(),
            )),
        }
    }

    /// Locks session `session_id` for the caller; fails with `SessionCannotBeLocked` if another
    /// receiver holds it. A session with no messages (and no state) may be accepted.
    pub fn accept_session(&self, session_id: &str) -> Result<SessionLock, EntityError> {
        self.main_only()?;
        let accepted = self
            .shared
            .with(|st, now, wall| st.accept_session(session_id, now, wall))?;
        Ok(SessionLock::new(self.shared.clone(), accepted))
    }

    /// Locks the unlocked session with available messages that has waited longest. With none,
    /// returns `Ok(None)` and registers `waker` to hear when one may be available.
    pub fn try_accept_next_session(
        &self,
        waker: Option<&Waker>,
    ) -> Result<Option<SessionLock>, EntityError> {
        self.main_only()?;
        let accepted = self
            .shared
            .with(|st, now, wall| st.accept_next_session(now, wall, waker))?;
        Ok(accepted.map(|a| SessionLock::new(self.shared.clone(), a)))
    }

    /// Waits for a session to accept (wrap in a timeout for `com.microsoft:timeout`).
    pub async fn accept_next_session(&self) -> Result<SessionLock, EntityError> {
        wait_until(|w| self.try_accept_next_session(Some(w))).await
    }

    /// Renews the lock on `session_id`, whoever holds it (`$management` `renew-session-lock`).
    pub fn renew_session_lock(&self, session_id: &str) -> Result<SystemTime, EntityError> {
        self.main_only()?;
        self.shared
            .with(|st, now, wall| st.renew_session(session_id, None, now, wall))
    }

    /// The state of a locked session (`get-session-state`); `SessionLockLost` if not locked.
    pub fn session_state(&self, session_id: &str) -> Result<Option<bytes::Bytes>, EntityError> {
        self.main_only()?;
        self.shared
            .with(|st, _, _| st.session_state(session_id, None))
    }

    /// Sets or clears the state of a locked session (`set-session-state`).
    pub fn set_session_state(
        &self,
        session_id: &str,
        state: Option<bytes::Bytes>,
    ) -> Result<Commit, EntityError> {
        self.main_only()?;
        check_state_size(state.as_ref())?;
        self.shared.with(|st, _, wall| {
            st.journal.check()?;
            st.set_session_state(session_id, None, state, wall)?;
            Ok(st.journal.commit())
        })
    }

    /// Session ids with messages or state, sorted, paged (`get-message-sessions`). With
    /// `updated_after`, only sessions whose state was set after that time.
    pub fn list_sessions(
        &self,
        updated_after: Option<SystemTime>,
        skip: usize,
        top: usize,
    ) -> Result<Vec<String>, EntityError> {
        self.main_only()?;
        self.shared
            .with(|st, _, _| st.list_sessions(updated_after, skip, top))
    }
}

/// Auto-forwarding counts of a queue or subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransferCounts {
    /// Messages waiting to be forwarded (always 0 between operations: forwarding happens as
    /// messages arrive).
    pub transfer: usize,
    /// Messages in the transfer dead-letter sub-queue.
    pub transfer_dead_lettered: usize,
}

/// Refuses session states above [`MAX_SESSION_STATE_BYTES`].
pub(crate) fn check_state_size(state: Option<&bytes::Bytes>) -> Result<(), EntityError> {
    match state {
        Some(s) if s.len() > MAX_SESSION_STATE_BYTES => {
            Err(EntityError::ArgumentOutOfRange(format!(
            "The session state is {} bytes; at most {MAX_SESSION_STATE_BYTES} bytes are allowed.",
            s.len()
        )))
        }
        _ => Ok(()),
    }
}

impl std::fmt::Debug for EntityHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntityHandle")
            .field("path", &self.path())
            .finish()
    }
}
