//! `SessionLock`: a receiver's lock on one session.

use std::sync::Arc;
use std::task::Waker;
use std::time::SystemTime;

use bytes::Bytes;

use super::handle::{check_state_size, EntityHandle, EntityShared};
use super::sessions::Accepted;
use super::state::Sub;
use super::wait::{take_many, wait_until};
use super::{Disposition, EntityError, LockToken, ReceiveMode, ReceivedMessage};
use crate::store::Commit;

/// A lock on one session of a session entity, held until released, dropped, or expired.
///
/// Messages are received in sequence order; many may be locked at once (prefetch). The lock
/// covers them: there is no per-message lock renewal, [`renew`](Self::renew) extends them all.
/// * [`release`](Self::release) (or dropping the handle) unlocks the session; its locked,
///   unsettled messages become available again **without** counting a delivery attempt.
/// * If the lock expires, the session is unlocked, its locked messages become available with
///   the attempt counted (dead-lettered at `max_delivery_count`), and every later call on this
///   handle fails with [`EntityError::SessionLockLost`]. Waiters registered through this handle
///   are woken when that happens.
pub struct SessionLock {
    shared: Arc<EntityShared>,
    id: Arc<str>,
    generation: u64,
    accepted_until: SystemTime,
    ended: bool,
}

impl SessionLock {
    pub(crate) fn new(shared: Arc<EntityShared>, a: Accepted) -> Self {
        Self {
            shared,
            id: a.id,
            generation: a.generation,
            accepted_until: a.locked_until,
            ended: false,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.id
    }

    /// When the lock expires as of accepting it (see [`renew`](Self::renew) for later values).
    pub fn locked_until_at_accept(&self) -> SystemTime {
        self.accepted_until
    }

    /// When the lock expires now; `SessionLockLost` once lost.
    pub fn locked_until(&self) -> Result<SystemTime, EntityError> {
        self.shared.with(|st, _, _| {
            let sessions = st.sessions.as_mut().ok_or(EntityError::SessionLockLost)?;
            let slot = sessions.held(&self.id, self.generation)?;
            slot.lock
                .map(|l| l.locked_until)
                .ok_or(EntityError::SessionLockLost)
        })
    }

    /// Whether this handle still holds the lock.
    pub fn is_held(&self) -> bool {
        self.locked_until().is_ok()
    }

    /// The entity the session belongs to.
    pub fn entity(&self) -> EntityHandle {
        EntityHandle::new(self.shared.clone(), Sub::Main)
    }

    /// Takes the session's next available message (sequence order). With none, returns
    /// `Ok(None)` and registers `waker` (woken when a message arrives or the lock is lost).
    pub fn try_receive(
        &self,
        mode: ReceiveMode,
        waker: Option<&Waker>,
    ) -> Result<Option<ReceivedMessage>, EntityError> {
        self.shared.with(|st, now, wall| {
            st.receive_in_session(&self.id, self.generation, mode, now, wall, waker)
        })
    }

    /// Like [`try_receive`](Self::try_receive) for up to `max` messages under one lock.
    pub fn try_receive_many(
        &self,
        mode: ReceiveMode,
        max: usize,
        out: &mut Vec<ReceivedMessage>,
        waker: Option<&Waker>,
    ) -> Result<usize, EntityError> {
        self.shared.with(|st, now, wall| {
            take_many(max, out, waker, |w| {
                st.receive_in_session(&self.id, self.generation, mode, now, wall, w)
            })
        })
    }

    /// Waits for the session's next message.
    pub async fn receive(&self, mode: ReceiveMode) -> Result<ReceivedMessage, EntityError> {
        wait_until(|w| self.try_receive(mode, Some(w))).await
    }

    /// Settles a message received under this lock; `SessionLockLost` if the lock is gone or
    /// the token is not one of this session's locked messages.
    pub fn settle(
        &self,
        token: &LockToken,
        disposition: Disposition,
    ) -> Result<Commit, EntityError> {
        self.shared.with(|st, now, _| {
            st.journal.check()?;
            st.settle(
                Sub::Main,
                token,
                disposition,
                Some((&self.id, self.generation)),
                now,
            )?;
            Ok(st.journal.commit())
        })
    }

    /// Extends the lock by the entity's lock duration; returns the new locked-until.
    pub fn renew(&self) -> Result<SystemTime, EntityError> {
        self.shared
            .with(|st, now, wall| st.renew_session(&self.id, Some(self.generation), now, wall))
    }

    /// The session state (`None` if never set or cleared).
    pub fn state(&self) -> Result<Option<Bytes>, EntityError> {
        self.shared
            .with(|st, _, _| st.session_state(&self.id, Some(self.generation)))
    }

    /// Sets the session state (at most [`MAX_SESSION_STATE_BYTES`](super::MAX_SESSION_STATE_BYTES));
    /// `None` clears it. State outlives the session's messages.
    pub fn set_state(&self, state: Option<Bytes>) -> Result<Commit, EntityError> {
        check_state_size(state.as_ref())?;
        self.shared.with(|st, _, wall| {
            st.journal.check()?;
            st.set_session_state(&self.id, Some(self.generation), state, wall)?;
            Ok(st.journal.commit())
        })
    }

    /// Receives this session's deferred messages by sequence number.
    pub fn receive_deferred(
        &self,
        seqs: &[i64],
        mode: ReceiveMode,
    ) -> Result<Vec<ReceivedMessage>, EntityError> {
        self.shared.with(|st, now, wall| {
            let sessions = st.sessions.as_mut().ok_or(EntityError::SessionLockLost)?;
            sessions.held(&self.id, self.generation)?;
            st.receive_deferred(Sub::Main, seqs, mode, Some(&self.id), now, wall)
        })
    }

    /// Peeks this session's messages from `from_seq` on.
    pub fn peek(&self, from_seq: i64, max: usize) -> Result<Vec<ReceivedMessage>, EntityError> {
        self.shared
            .with(|st, _, _| Ok(st.peek(Sub::Main, from_seq, max, Some(&self.id))))
    }

    /// Unlocks the session; its locked, unsettled messages return without counting an attempt.
    /// Fails with `SessionLockLost` if the lock had already been lost.
    pub fn release(mut self) -> Result<(), EntityError> {
        self.ended = true;
        self.end()
    }

    fn end(&self) -> Result<(), EntityError> {
        self.shared
            .with(|st, now, _| st.end_session_lock(&self.id, Some(self.generation), false, now))
    }
}

impl Drop for SessionLock {
    fn drop(&mut self) {
        if !self.ended {
            let _ = self.end();
        }
    }
}

impl std::fmt::Debug for SessionLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLock")
            .field("entity", &&*self.shared.path)
            .field("session_id", &&*self.id)
            .finish()
    }
}
