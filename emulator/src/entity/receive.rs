//! Handing messages out: receive (plain and per session), receive deferred by sequence
//! number, peek, and lock renewal.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::task::Waker;
use std::time::SystemTime;

use tokio::time::Instant;

use super::error::SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER;
use super::message::{HeldLock, StoredMessage};
use super::ready::ReadyQueue;
use super::state::{EntityState, Sub};
use super::{EntityError, LockToken, MessageState, ReceiveMode, ReceivedMessage};

/// The session lock a message is locked under: (session, deadline, locked-until).
type UnderSession = (Arc<str>, Instant, SystemTime);

impl EntityState {
    /// Takes the lowest queued message off `ready`, marking it no longer queued.
    fn pop_ready(
        ready: &mut ReadyQueue,
        messages: &mut BTreeMap<i64, StoredMessage>,
    ) -> Option<i64> {
        let seq = ready.pop(|s| messages.get(&s).is_some_and(|m| m.queued))?;
        if let Some(m) = messages.get_mut(&seq) {
            m.queued = false;
        }
        Some(seq)
    }

    /// Receives from a plain (non-session) main queue or from a dead-letter sub-queue; with
    /// nothing available, registers `waker`.
    pub fn receive(
        &mut self,
        sub: Sub,
        mode: ReceiveMode,
        now: Instant,
        wall: SystemTime,
        waker: Option<&Waker>,
    ) -> Result<Option<ReceivedMessage>, EntityError> {
        self.touch(wall);
        if sub == Sub::Main && self.sessions.is_some() {
            return Err(EntityError::NotAllowed(
                SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER.into(),
            ));
        }
        let q = self.sub(sub);
        match Self::pop_ready(&mut q.ready, &mut q.messages) {
            Some(seq) => Ok(self.hand_out(sub, seq, mode, now, wall, None)),
            None => {
                if let Some(w) = waker {
                    q.waiters.register(w);
                }
                Ok(None)
            }
        }
    }

    /// Receives the next message of a session the caller holds (`generation`).
    pub fn receive_in_session(
        &mut self,
        id: &str,
        generation: u64,
        mode: ReceiveMode,
        now: Instant,
        wall: SystemTime,
        waker: Option<&Waker>,
    ) -> Result<Option<ReceivedMessage>, EntityError> {
        self.touch(wall);
        let Self {
            sessions,
            main,
            journal,
            ..
        } = self;
        let sessions = sessions.as_mut().ok_or(EntityError::SessionLockLost)?;
        let (key, _) = sessions
            .slots
            .get_key_value(id)
            .ok_or(EntityError::SessionLockLost)?;
        let key = key.clone();
        let slot = sessions.held(id, generation)?;
        let Some(lock) = slot.lock else {
            return Err(EntityError::SessionLockLost);
        };
        if !slot.ready.is_empty() && !journal.durable_or_wake(slot.gate, waker)? {
            // The session's last change is not on disk yet: a crash could undo it and bring
            // back a message after this one (see `SessionSlot::gate`).
            return Ok(None);
        }
        let Some(seq) = Self::pop_ready(&mut slot.ready, &mut main.messages) else {
            if let Some(w) = waker {
                slot.waiters.register(w);
            }
            return Ok(None);
        };
        let under = (key, lock.deadline, lock.locked_until);
        Ok(self.hand_out(Sub::Main, seq, mode, now, wall, Some(under)))
    }

    /// Locks or removes a message that was just taken off a ready queue (or is deferred).
    fn hand_out(
        &mut self,
        sub: Sub,
        seq: i64,
        mode: ReceiveMode,
        now: Instant,
        wall: SystemTime,
        under: Option<UnderSession>,
    ) -> Option<ReceivedMessage> {
        match mode {
            ReceiveMode::ReceiveAndDelete => {
                let msg = self.remove_logged(sub, seq)?;
                Some(msg.view(seq, None))
            }
            ReceiveMode::PeekLock => self.lock_message(sub, seq, now, wall, under),
        }
    }

    fn lock_message(
        &mut self,
        sub: Sub,
        seq: i64,
        now: Instant,
        wall: SystemTime,
        under: Option<UnderSession>,
    ) -> Option<ReceivedMessage> {
        let duration = self.options.lock_duration;
        let token = LockToken::random();
        let (deadline, locked_until) = match &under {
            Some((_, d, u)) => (*d, *u),
            None => (now + duration, wall + duration),
        };
        let q = self.sub(sub);
        let msg = q.messages.get_mut(&seq)?;
        msg.lock = Some(HeldLock {
            token,
            deadline,
            locked_until,
        });
        let view = msg.view(seq, None);
        q.locks.insert(token, seq);
        match under {
            Some((id, _, _)) => {
                if let Some(slot) = self.sessions.as_mut().and_then(|s| s.slots.get_mut(&id)) {
                    slot.locked.insert(seq);
                }
            }
            None => {
                q.lock_deadlines.insert((deadline, seq));
            }
        }
        Some(view)
    }

    /// Receives deferred messages by sequence number. All must exist and be deferred (and,
    /// on a session entity, belong to `session`, which must be locked), or none is taken.
    pub fn receive_deferred(
        &mut self,
        sub: Sub,
        seqs: &[i64],
        mode: ReceiveMode,
        session: Option<&str>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Vec<ReceivedMessage>, EntityError> {
        self.touch(wall);
        let under = match (sub, &mut self.sessions) {
            (Sub::Main, Some(sessions)) => {
                let id = session.ok_or(EntityError::NotAllowed(
                    SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER.into(),
                ))?;
                let (key, slot) = sessions
                    .slots
                    .get_key_value(id)
                    .ok_or(EntityError::SessionLockLost)?;
                let lock = slot.lock.ok_or(EntityError::SessionLockLost)?;
                Some((key.clone(), lock.deadline, lock.locked_until))
            }
            _ => None,
        };
        let q = self.sub(sub);
        for &seq in seqs {
            let ok = q.messages.get(&seq).is_some_and(|m| {
                m.state == MessageState::Deferred
                    && m.lock.is_none()
                    && under
                        .as_ref()
                        .is_none_or(|(id, _, _)| m.session.as_ref() == Some(id))
            });
            if !ok {
                return Err(EntityError::MessageNotFound {
                    sequence_number: seq,
                });
            }
        }
        let mut out = Vec::with_capacity(seqs.len());
        for &seq in seqs {
            let free = self
                .sub(sub)
                .messages
                .get(&seq)
                .is_some_and(|m| m.lock.is_none());
            if free {
                out.extend(self.hand_out(sub, seq, mode, now, wall, under.clone()));
            }
        }
        Ok(out)
    }

    /// Messages from `from_seq` on (any state, locked or not), without locking them.
    pub fn peek(
        &mut self,
        sub: Sub,
        from_seq: i64,
        max: usize,
        session: Option<&str>,
    ) -> Vec<ReceivedMessage> {
        let at_topic = self.scheduled_at_topic;
        self.sub(sub)
            .messages
            .range(from_seq..)
            .filter(|(_, m)| !(at_topic && m.state == MessageState::Scheduled))
            .filter(|(_, m)| session.is_none_or(|s| m.session.as_deref() == Some(s)))
            .take(max)
            .map(|(&seq, m)| {
                let mut v = m.view(seq, None);
                v.lock_token = None;
                v
            })
            .collect()
    }

    /// Extends a message lock by the lock duration. A session message's lock is the session
    /// lock: its current expiry is returned unchanged.
    pub fn renew_lock(
        &mut self,
        sub: Sub,
        token: &LockToken,
        now: Instant,
        wall: SystemTime,
    ) -> Result<SystemTime, EntityError> {
        let lost = self.lock_lost(sub);
        let duration = self.options.lock_duration;
        let Some(&seq) = self.sub(sub).locks.get(token) else {
            return Err(lost);
        };
        let session = self
            .sub(sub)
            .messages
            .get(&seq)
            .and_then(|m| m.session.clone());
        if let (Sub::Main, Some(id), Some(sessions)) = (sub, session, &self.sessions) {
            return sessions
                .slots
                .get(&id)
                .and_then(|s| s.lock)
                .map(|l| l.locked_until)
                .ok_or(lost);
        }
        let q = self.sub(sub);
        let Some(lock) = q.messages.get_mut(&seq).and_then(|m| m.lock.as_mut()) else {
            return Err(lost);
        };
        let old = lock.deadline;
        lock.deadline = now + duration;
        lock.locked_until = wall + duration;
        let (new, until) = (lock.deadline, lock.locked_until);
        q.lock_deadlines.remove(&(old, seq));
        q.lock_deadlines.insert((new, seq));
        Ok(until)
    }

    /// The error for a token that is not (or no longer) locked here.
    pub fn lock_lost(&self, sub: Sub) -> EntityError {
        if sub == Sub::Main && self.sessions.is_some() {
            EntityError::SessionLockLost
        } else {
            EntityError::MessageLockLost
        }
    }
}
