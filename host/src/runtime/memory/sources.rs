//! The session and message sources over an in-memory queue.

use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, ServiceBusError, Settlement};
use bytes::Bytes;

use super::{MemoryBroker, Queue};
use crate::runtime::source::{
    DeliveryToken, MessageSource, Received, SessionSource, SourceSession,
};

/// Accepts sessions of one in-memory queue.
pub struct MemorySessionSource {
    pub(super) broker: MemoryBroker,
    pub(super) queue: String,
}

impl SessionSource for MemorySessionSource {
    type Session = MemorySession;

    async fn accept_next(&self) -> Result<Option<MemorySession>, ServiceBusError> {
        let queue = self.queue.clone();
        let accepted = self
            .broker
            .poll(None, |state| {
                state.next_token += 1;
                let holder = state.next_token;
                let q = state.queues.get_mut(&queue)?;
                q.rotation += 1;
                let rotation = q.rotation;
                let lock_duration = q.lock_duration;
                // Fair: of the free sessions with messages, the one accepted longest ago.
                let (id, session) = q
                    .sessions
                    .iter_mut()
                    .filter(|(_, s)| s.holder.is_none() && !s.messages.is_empty())
                    .min_by_key(|(_, s)| s.last_accepted)?;
                session.holder = Some(holder);
                session.last_accepted = rotation;
                let until = SystemTime::now() + lock_duration;
                session.locked_until = Some(until);
                Some((id.clone(), holder, until))
            })
            .await;
        Ok(accepted
            .ok()
            .flatten()
            .map(|(session_id, holder, until)| self.session(session_id, holder, until)))
    }

    async fn accept_session(
        &self,
        session_id: &str,
    ) -> Result<Option<MemorySession>, ServiceBusError> {
        let accepted = {
            let mut state = self.broker.lock();
            if state.closed {
                return Ok(None);
            }
            state.next_token += 1;
            let holder = state.next_token;
            let q = state
                .queues
                .get_mut(&self.queue)
                .ok_or_else(|| ServiceBusError::new(ErrorKind::NotFound, "no such queue"))?;
            q.rotation += 1;
            let rotation = q.rotation;
            let until = SystemTime::now() + q.lock_duration;
            let session = q.sessions.entry(session_id.to_owned()).or_default();
            if session.holder.is_some() {
                return Err(ServiceBusError::new(
                    ErrorKind::SessionCannotBeLocked,
                    format!(
                        "The requested session '{session_id}' cannot be accepted. It may be \
                         locked by another receiver."
                    ),
                ));
            }
            session.holder = Some(holder);
            session.last_accepted = rotation;
            session.locked_until = Some(until);
            (holder, until)
        };
        self.broker.changed();
        let (holder, until) = accepted;
        Ok(Some(self.session(session_id.to_owned(), holder, until)))
    }
}

impl MemorySessionSource {
    fn session(&self, session_id: String, holder: u64, until: SystemTime) -> MemorySession {
        MemorySession {
            broker: self.broker.clone(),
            queue: self.queue.clone(),
            session_id,
            holder,
            locked_until: Some(until),
        }
    }
}

/// A session accepted from a [`MemorySessionSource`].
pub struct MemorySession {
    broker: MemoryBroker,
    queue: String,
    session_id: String,
    holder: u64,
    locked_until: Option<SystemTime>,
}

impl MemorySession {
    fn check_lock(&self, q: &Queue) -> Result<(), ServiceBusError> {
        match q.sessions.get(&self.session_id) {
            Some(s) if s.holder == Some(self.holder) => Ok(()),
            _ => Err(ServiceBusError::new(
                ErrorKind::SessionLockLost,
                "the session lock has expired",
            )),
        }
    }
}

impl SourceSession for MemorySession {
    fn session_id(&self) -> &str {
        &self.session_id
    }

    fn locked_until(&self) -> Option<SystemTime> {
        self.locked_until
    }

    async fn receive(&mut self, max_wait: Duration) -> Result<Option<Received>, ServiceBusError> {
        let deadline = Instant::now() + max_wait;
        let (queue, id, holder) = (self.queue.clone(), self.session_id.clone(), self.holder);
        let polled = self
            .broker
            .poll(Some(deadline), |state| {
                let next_token = &mut state.next_token;
                let q = state.queues.get_mut(&queue)?;
                if q.sessions.get(&id).and_then(|s| s.holder) != Some(holder) {
                    return Some(Err(()));
                }
                q.lock_message(Some(&id), next_token).map(Ok)
            })
            .await;
        match polled {
            Ok(Some(Ok(received))) => Ok(Some(received)),
            Ok(Some(Err(()))) => Err(ServiceBusError::new(
                ErrorKind::SessionLockLost,
                "the session lock has expired",
            )),
            Ok(None) => Ok(None),
            Err(()) => Err(ServiceBusError::new(
                ErrorKind::Connection,
                "the broker closed",
            )),
        }
    }

    async fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        self.broker.with_queue(&self.queue, |q, _| {
            self.check_lock(q)?;
            q.settle(token, settlement)
        })
    }

    async fn get_state(&mut self) -> Result<Option<Bytes>, ServiceBusError> {
        self.broker.with_queue(&self.queue, |q, _| {
            self.check_lock(q)?;
            Ok(q.sessions
                .get(&self.session_id)
                .and_then(|s| s.state.clone()))
        })
    }

    async fn set_state(&mut self, state: Option<Bytes>) -> Result<(), ServiceBusError> {
        self.broker.with_queue(&self.queue, |q, _| {
            self.check_lock(q)?;
            q.sessions.entry(self.session_id.clone()).or_default().state = state;
            Ok(())
        })
    }

    async fn renew_lock(&mut self) -> Result<SystemTime, ServiceBusError> {
        let until = self.broker.with_queue(&self.queue, |q, _| {
            self.check_lock(q)?;
            let until = SystemTime::now() + q.lock_duration;
            if let Some(s) = q.sessions.get_mut(&self.session_id) {
                s.locked_until = Some(until);
            }
            Ok(until)
        })?;
        self.locked_until = Some(until);
        Ok(until)
    }

    async fn release(self) {
        let _ = self.broker.with_queue(&self.queue, |q, _| {
            if self.check_lock(q).is_ok() {
                q.unlock_session(&self.session_id, false);
            }
            Ok(())
        });
    }
}

/// Receives from an in-memory queue without sessions.
pub struct MemoryMessageSource {
    pub(super) broker: MemoryBroker,
    pub(super) queue: String,
}

impl MessageSource for MemoryMessageSource {
    async fn receive(&self) -> Result<Option<Received>, ServiceBusError> {
        let queue = self.queue.clone();
        let polled = self
            .broker
            .poll(None, |state| {
                let next_token = &mut state.next_token;
                state.queues.get_mut(&queue)?.lock_message(None, next_token)
            })
            .await;
        Ok(polled.ok().flatten())
    }

    async fn settle(
        &self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        self.broker
            .with_queue(&self.queue, |q, _| q.settle(token, settlement))
    }
}
