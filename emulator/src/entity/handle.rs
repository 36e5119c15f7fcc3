//! `EntityHandle`: a queue or subscription (or its dead-letter sub-queue) resolved once and used
//! for every receive, settle and management operation.

use std::sync::Arc;
use std::task::Waker;
use std::time::SystemTime;

use tokio::time::Instant;

pub(crate) use super::shared::{EntityShared, Parts};
use super::session::SessionLock;
use super::state::Sub;
use super::wait::{take_many, wait_until};
use super::{
    Disposition, EntityCounts, EntityError, EntityKind, EntityOptions, EntityStatus, LockToken,
    MessageState, ReceiveMode, ReceivedMessage,
};
use crate::store::Commit;

/// Largest session state accepted (256 KiB, the Standard tier's message size).
pub const MAX_SESSION_STATE_BYTES: usize = 256 * 1024;

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
            let (transfer, transfer_dead_lettered) = st.transfer_counts();
            Ok(TransferCounts {
                transfer: transfer as usize,
                transfer_dead_lettered: transfer_dead_lettered as usize,
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
