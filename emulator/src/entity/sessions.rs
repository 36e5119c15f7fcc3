//! Sessions of a session entity: per-session ready queues, session locks, session state, and
//! the fair rotation of sessions for accept-next (oldest-waiting first).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;
use std::task::Waker;
use std::time::SystemTime;

use bytes::Bytes;
use tokio::time::Instant;

use super::error::SESSION_RECEIVER_ON_SESSIONLESS_ENTITY;
use super::ready::{ReadyQueue, Waiters};
use super::state::{EntityState, Sub};
use super::EntityError;

/// The lock a receiver holds on a session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionLockState {
    pub generation: u64,
    pub deadline: Instant,
    pub locked_until: SystemTime,
}

/// One session.
#[derive(Default)]
pub(crate) struct SessionSlot {
    pub ready: ReadyQueue,
    /// Main-queue messages of this session, in any state.
    pub messages: usize,
    /// Messages locked under the current session lock.
    pub locked: BTreeSet<i64>,
    pub state: Option<Bytes>,
    pub state_updated: Option<SystemTime>,
    pub lock: Option<SessionLockState>,
    /// Queued in `Sessions::ready`.
    pub in_ready: bool,
    /// The holder's receivers.
    pub waiters: Waiters,
    /// The LSN of the session's last logged change (a settlement, a receive-and-delete, a
    /// dead-letter or expiry, its state): no message of the session is handed out before it
    /// is durable, so a crash can never bring back a message after a later one went out.
    pub gate: u64,
}

/// All sessions of an entity.
#[derive(Default)]
pub(crate) struct Sessions {
    pub slots: HashMap<Arc<str>, SessionSlot>,
    /// Sessions that became available, oldest first (entries may be stale).
    pub ready: VecDeque<Arc<str>>,
    pub deadlines: BTreeSet<(Instant, Arc<str>)>,
    pub next_generation: u64,
    pub accept_waiters: Waiters,
    /// The highest gate of a forgotten slot: a session created again starts behind it.
    pub collected_gate: u64,
}

impl Sessions {
    /// The slot's key for `id`, creating the slot if needed.
    pub fn key(&mut self, id: &str) -> Arc<str> {
        if let Some((k, _)) = self.slots.get_key_value(id) {
            return k.clone();
        }
        let key: Arc<str> = Arc::from(id);
        let slot = SessionSlot {
            gate: self.collected_gate,
            ..SessionSlot::default()
        };
        self.slots.insert(key.clone(), slot);
        key
    }

    /// Session `id` changed in the log at `lsn` (see [`SessionSlot::gate`]).
    pub fn raise_gate(&mut self, id: &str, lsn: u64) {
        let gate = match self.slots.get_mut(id) {
            Some(slot) => &mut slot.gate,
            None => &mut self.collected_gate,
        };
        *gate = (*gate).max(lsn);
    }

    /// Counts a new message of session `id`; returns the shared id.
    pub fn count_message(&mut self, id: &str) -> Arc<str> {
        let key = self.key(id);
        if let Some(slot) = self.slots.get_mut(&key) {
            slot.messages += 1;
        }
        key
    }

    /// A message of session `id` became available.
    pub fn message_available(&mut self, id: &Arc<str>, seq: i64) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        slot.ready.push(seq);
        if slot.lock.is_some() {
            slot.waiters.wake_all();
        } else {
            self.offer(id);
        }
    }

    /// Queues an unlocked session with available messages for accept-next.
    fn offer(&mut self, id: &Arc<str>) {
        let Some(slot) = self.slots.get_mut(id) else {
            return;
        };
        if slot.lock.is_none() && !slot.ready.is_empty() {
            if !slot.in_ready {
                slot.in_ready = true;
                self.ready.push_back(id.clone());
            }
            self.accept_waiters.wake_all();
        }
    }

    /// A message of session `id` left the entity.
    pub fn message_removed(&mut self, id: &Arc<str>, seq: i64, was_queued: bool, was_locked: bool) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.messages = slot.messages.saturating_sub(1);
            if was_queued {
                slot.ready.forget_one();
            }
            if was_locked {
                slot.locked.remove(&seq);
            }
        }
        self.collect(id);
    }

    /// A message of session `id` was unlocked.
    pub fn message_unlocked(&mut self, id: &Arc<str>, seq: i64) {
        if let Some(slot) = self.slots.get_mut(id) {
            slot.locked.remove(&seq);
        }
    }

    /// Forgets a session that has nothing left: no messages, no state, no lock.
    pub fn collect(&mut self, id: &str) {
        let empty = self
            .slots
            .get(id)
            .is_some_and(|s| s.messages == 0 && s.state.is_none() && s.lock.is_none());
        if empty {
            if let Some(slot) = self.slots.remove(id) {
                self.collected_gate = self.collected_gate.max(slot.gate);
            }
        }
    }

    /// The slot `id` if `generation` still holds its lock.
    pub fn held(&mut self, id: &str, generation: u64) -> Result<&mut SessionSlot, EntityError> {
        self.slots
            .get_mut(id)
            .filter(|s| s.lock.is_some_and(|l| l.generation == generation))
            .ok_or(EntityError::SessionLockLost)
    }

    /// The key and lock of session `id` if held by `generation` (by anyone when `None`).
    pub fn lock_of(
        &self,
        id: &str,
        generation: Option<u64>,
    ) -> Result<(Arc<str>, SessionLockState), EntityError> {
        let (key, slot) = self
            .slots
            .get_key_value(id)
            .ok_or(EntityError::SessionLockLost)?;
        match slot.lock {
            Some(l) if generation.is_none_or(|g| g == l.generation) => Ok((key.clone(), l)),
            _ => Err(EntityError::SessionLockLost),
        }
    }

    /// The slot `id` if anyone holds its lock.
    pub fn locked(&mut self, id: &str) -> Result<&mut SessionSlot, EntityError> {
        self.slots
            .get_mut(id)
            .filter(|s| s.lock.is_some())
            .ok_or(EntityError::SessionLockLost)
    }

    pub fn wake_everyone(&mut self) {
        self.accept_waiters.wake_all();
        for slot in self.slots.values_mut() {
            slot.waiters.wake_all();
        }
    }
}

/// A newly taken session lock.
pub(crate) struct Accepted {
    pub id: Arc<str>,
    pub generation: u64,
    pub locked_until: SystemTime,
}

impl EntityState {
    fn sessions_mut(&mut self) -> Result<&mut Sessions, EntityError> {
        self.sessions.as_mut().ok_or(EntityError::NotAllowed(
            SESSION_RECEIVER_ON_SESSIONLESS_ENTITY.into(),
        ))
    }

    fn take_lock(&mut self, key: Arc<str>, now: Instant, wall: SystemTime) -> Accepted {
        let duration = self.options.lock_duration;
        let deadline = now + duration;
        let locked_until = wall + duration;
        let Some(sessions) = self.sessions.as_mut() else {
            return Accepted {
                id: key,
                generation: 0,
                locked_until,
            };
        };
        sessions.next_generation += 1;
        let generation = sessions.next_generation;
        if let Some(slot) = sessions.slots.get_mut(&key) {
            slot.lock = Some(SessionLockState {
                generation,
                deadline,
                locked_until,
            });
        }
        sessions.deadlines.insert((deadline, key.clone()));
        Accepted {
            id: key,
            generation,
            locked_until,
        }
    }

    /// Locks session `id` (which may have no messages yet).
    pub fn accept_session(
        &mut self,
        id: &str,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Accepted, EntityError> {
        self.touch(wall);
        let sessions = self.sessions_mut()?;
        let key = sessions.key(id);
        if sessions.slots.get(&key).is_some_and(|s| s.lock.is_some()) {
            return Err(EntityError::SessionCannotBeLocked {
                session_id: id.to_owned(),
            });
        }
        Ok(self.take_lock(key, now, wall))
    }

    /// Locks the unlocked session with available messages that has waited longest; with none,
    /// registers `waker` to hear when one might be available.
    pub fn accept_next_session(
        &mut self,
        now: Instant,
        wall: SystemTime,
        waker: Option<&Waker>,
    ) -> Result<Option<Accepted>, EntityError> {
        self.touch(wall);
        let sessions = self.sessions_mut()?;
        while let Some(key) = sessions.ready.pop_front() {
            let Some(slot) = sessions.slots.get_mut(&key) else {
                continue;
            };
            slot.in_ready = false;
            if slot.lock.is_none() && !slot.ready.is_empty() {
                return Ok(Some(self.take_lock(key, now, wall)));
            }
        }
        if let Some(w) = waker {
            sessions.accept_waiters.register(w);
        }
        Ok(None)
    }

    /// Renews a session lock held by `generation` (any holder when `None`).
    pub fn renew_session(
        &mut self,
        id: &str,
        generation: Option<u64>,
        now: Instant,
        wall: SystemTime,
    ) -> Result<SystemTime, EntityError> {
        let duration = self.options.lock_duration;
        let sessions = self.sessions_mut()?;
        let (key, old) = sessions.lock_of(id, generation)?;
        let new = SessionLockState {
            generation: old.generation,
            deadline: now + duration,
            locked_until: wall + duration,
        };
        sessions.deadlines.remove(&(old.deadline, key.clone()));
        sessions.deadlines.insert((new.deadline, key.clone()));
        if let Some(slot) = sessions.slots.get_mut(&key) {
            slot.lock = Some(new);
        }
        Ok(new.locked_until)
    }

    /// Ends a session lock: its locked messages become available again, counting the attempt
    /// when `counted` (lock expiry) and not when released by the holder.
    pub fn end_session_lock(
        &mut self,
        id: &str,
        generation: Option<u64>,
        counted: bool,
        now: Instant,
    ) -> Result<(), EntityError> {
        let sessions = self.sessions_mut()?;
        let (key, lock) = sessions.lock_of(id, generation)?;
        let Some(slot) = sessions.slots.get_mut(&key) else {
            return Err(EntityError::SessionLockLost);
        };
        slot.lock = None;
        slot.waiters.wake_all();
        let locked = std::mem::take(&mut slot.locked);
        sessions.deadlines.remove(&(lock.deadline, key.clone()));
        for seq in locked {
            self.unlock(Sub::Main, seq, counted, now);
        }
        if let Some(sessions) = self.sessions.as_mut() {
            sessions.offer(&key);
            sessions.collect(&key);
        }
        Ok(())
    }

    /// Sets (or with `None` clears) a session's state.
    pub fn set_session_state(
        &mut self,
        id: &str,
        generation: Option<u64>,
        state: Option<Bytes>,
        wall: SystemTime,
    ) -> Result<(), EntityError> {
        let sessions = self.sessions_mut()?;
        let slot = match generation {
            Some(g) => sessions.held(id, g)?,
            None => sessions.locked(id)?,
        };
        slot.state = state.clone();
        slot.state_updated = Some(wall);
        let updated_ms = super::state::millis(wall);
        self.journal
            .log(|entity| crate::store::record::Record::SessionState {
                entity,
                session: id,
                state: state.as_deref(),
                updated_ms,
            });
        let lsn = self.journal.lsn();
        if let Some(sessions) = self.sessions.as_mut() {
            sessions.raise_gate(id, lsn);
        }
        Ok(())
    }

    /// A session's state.
    pub fn session_state(
        &mut self,
        id: &str,
        generation: Option<u64>,
    ) -> Result<Option<Bytes>, EntityError> {
        let sessions = self.sessions_mut()?;
        let slot = match generation {
            Some(g) => sessions.held(id, g)?,
            None => sessions.locked(id)?,
        };
        Ok(slot.state.clone())
    }

    /// Ids of sessions with messages or state (only those whose state changed after
    /// `updated_after`, when given), sorted, paged.
    pub fn list_sessions(
        &mut self,
        updated_after: Option<SystemTime>,
        skip: usize,
        top: usize,
    ) -> Result<Vec<String>, EntityError> {
        let sessions = self.sessions_mut()?;
        let mut ids: Vec<&Arc<str>> = sessions
            .slots
            .iter()
            .filter(|(_, s)| match updated_after {
                Some(t) => s.state_updated.is_some_and(|u| u > t),
                None => s.messages > 0 || s.state.is_some(),
            })
            .map(|(k, _)| k)
            .collect();
        ids.sort_unstable();
        Ok(ids
            .into_iter()
            .skip(skip)
            .take(top)
            .map(|k| k.to_string())
            .collect())
    }
}
