//! An in-memory session source: Service Bus session semantics (locks, delivery counts,
//! dead-lettering, session state) without a broker, for testing the pumps.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, Message, ServiceBusError, Settlement};
use bytes::Bytes;
use tokio::sync::Notify;

use super::source::{DeliveryToken, MessageSource, Received, SessionSource, SourceSession};

/// A message that ended in the dead-letter queue.
#[derive(Debug, Clone)]
pub struct DeadLettered {
    /// The message.
    pub message: Message,
    /// `DeadLetterReason`.
    pub reason: String,
    /// `DeadLetterErrorDescription`.
    pub description: String,
}

/// An in-memory namespace of queues. Cheap to clone.
#[derive(Clone, Default)]
pub struct MemoryBroker {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

#[derive(Default)]
struct State {
    queues: HashMap<String, Queue>,
    closed: bool,
    next_token: u64,
}

struct Queue {
    max_delivery_count: u32,
    lock_duration: Duration,
    next_sequence: i64,
    sessions: BTreeMap<String, Session>,
    plain: VecDeque<Message>,
    rotation: u64,
    in_flight: HashMap<DeliveryToken, (Option<String>, Message)>,
    completed: Vec<Message>,
    dead_letters: Vec<DeadLettered>,
    deferred: Vec<Message>,
}

#[derive(Default)]
struct Session {
    messages: VecDeque<Message>,
    holder: Option<u64>,
    locked_until: Option<SystemTime>,
    state: Option<Bytes>,
    last_accepted: u64,
}

impl MemoryBroker {
    /// An empty namespace.
    pub fn new() -> Self {
        MemoryBroker::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn changed(&self) {
        self.shared.changed.notify_waiters();
    }

    /// Creates a queue (sessions are keyed by each message's session id).
    pub fn create_queue(&self, name: &str, max_delivery_count: u32, lock_duration: Duration) {
        self.lock().queues.insert(
            name.to_owned(),
            Queue {
                max_delivery_count,
                lock_duration,
                next_sequence: 1,
                sessions: BTreeMap::new(),
                plain: VecDeque::new(),
                rotation: 0,
                in_flight: HashMap::new(),
                completed: Vec::new(),
                dead_letters: Vec::new(),
                deferred: Vec::new(),
            },
        );
    }

    /// Enqueues a message; it goes to its session when it has a session id.
    pub fn send(&self, queue: &str, mut message: Message) {
        {
            let mut state = self.lock();
            let Some(q) = state.queues.get_mut(queue) else {
                return;
            };
            message.sequence_number = q.next_sequence;
            q.next_sequence += 1;
            message.delivery_count = 0;
            message.enqueued_time = Some(SystemTime::now());
            match message.session_id.clone() {
                Some(id) => q
                    .sessions
                    .entry(id)
                    .or_default()
                    .messages
                    .push_back(message),
                None => q.plain.push_back(message),
            }
        }
        self.changed();
    }

    /// Closes every source: pending and future accepts return `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed();
    }

    /// Expires a session's lock now, as the broker does when it is not renewed.
    pub fn expire_session_lock(&self, queue: &str, session_id: &str) {
        {
            let mut state = self.lock();
            if let Some(q) = state.queues.get_mut(queue) {
                q.unlock_session(session_id, true);
            }
        }
        self.changed();
    }

    /// A session source over `queue`.
    pub fn session_source(&self, queue: &str) -> Arc<MemorySessionSource> {
        Arc::new(MemorySessionSource {
            broker: self.clone(),
            queue: queue.to_owned(),
        })
    }

    /// A non-session source over `queue`.
    pub fn message_source(&self, queue: &str) -> Arc<MemoryMessageSource> {
        Arc::new(MemoryMessageSource {
            broker: self.clone(),
            queue: queue.to_owned(),
        })
    }

    /// Completed messages, in completion order.
    pub fn completed(&self, queue: &str) -> Vec<Message> {
        self.read(queue, |q| q.completed.clone())
    }

    /// Dead-lettered messages, in order.
    pub fn dead_letters(&self, queue: &str) -> Vec<DeadLettered> {
        self.read(queue, |q| q.dead_letters.clone())
    }

    /// Deferred messages, in order.
    pub fn deferred(&self, queue: &str) -> Vec<Message> {
        self.read(queue, |q| q.deferred.clone())
    }

    /// The state of a session.
    pub fn session_state(&self, queue: &str, session_id: &str) -> Option<Bytes> {
        self.read(queue, |q| {
            q.sessions.get(session_id).and_then(|s| s.state.clone())
        })
    }

    /// Messages not yet settled (waiting or in flight).
    pub fn pending(&self, queue: &str) -> usize {
        self.read(queue, |q| {
            q.plain.len()
                + q.in_flight.len()
                + q.sessions.values().map(|s| s.messages.len()).sum::<usize>()
        })
    }

    fn read<T: Default>(&self, queue: &str, f: impl FnOnce(&Queue) -> T) -> T {
        self.lock().queues.get(queue).map(f).unwrap_or_default()
    }

    /// Waits until `condition` holds on this broker (checked after every change).
    pub async fn wait_until(&self, mut condition: impl FnMut(&MemoryBroker) -> bool) {
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if condition(self) {
                return;
            }
            notified.await;
        }
    }

    /// Runs `attempt` under the lock until it yields a value, waiting for changes (at
    /// most until `deadline`). `Err(())` when the broker closed.
    async fn poll<T>(
        &self,
        deadline: Option<Instant>,
        mut attempt: impl FnMut(&mut State) -> Option<T>,
    ) -> Result<Option<T>, ()> {
        loop {
            let notified = self.shared.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.lock();
                if let Some(value) = attempt(&mut state) {
                    drop(state);
                    self.changed();
                    return Ok(Some(value));
                }
                if state.closed {
                    return Err(());
                }
            }
            match deadline {
                Some(at) => {
                    if tokio::time::timeout_at(at.into(), notified).await.is_err() {
                        return Ok(None);
                    }
                }
                None => notified.await,
            }
        }
    }

    fn with_queue<T>(
        &self,
        queue: &str,
        f: impl FnOnce(&mut Queue, &mut u64) -> Result<T, ServiceBusError>,
    ) -> Result<T, ServiceBusError> {
        let result = {
            let mut state = self.lock();
            let state = &mut *state;
            let q = state
                .queues
                .get_mut(queue)
                .ok_or_else(|| ServiceBusError::new(ErrorKind::NotFound, "no such queue"))?;
            f(q, &mut state.next_token)
        };
        self.changed();
        result
    }
}

impl Queue {
    fn lock_message(&mut self, session: Option<&str>, next_token: &mut u64) -> Option<Received> {
        let mut message = match session {
            Some(id) => self.sessions.get_mut(id)?.messages.pop_front()?,
            None => self.plain.pop_front()?,
        };
        message.delivery_count += 1;
        message.locked_until = Some(SystemTime::now() + self.lock_duration);
        *next_token += 1;
        let token = DeliveryToken((*next_token as u128).to_be_bytes());
        self.in_flight
            .insert(token, (session.map(str::to_owned), message.clone()));
        Some(Received { message, token })
    }

    /// Puts a message back at the head of its session (or the queue), dead-lettering it
    /// once it has been delivered `max_delivery_count` times.
    fn put_back(&mut self, session: Option<&str>, message: Message, counted: bool) {
        let mut message = message;
        if !counted {
            message.delivery_count = message.delivery_count.saturating_sub(1);
        }
        if counted && message.delivery_count >= self.max_delivery_count {
            let description = format!(
                "Message could not be consumed after {} delivery attempts.",
                self.max_delivery_count
            );
            self.dead_letters.push(DeadLettered {
                message,
                reason: "MaxDeliveryCountExceeded".into(),
                description,
            });
            return;
        }
        match session {
            Some(id) => self
                .sessions
                .entry(id.to_owned())
                .or_default()
                .messages
                .push_front(message),
            None => self.plain.push_front(message),
        }
    }

    fn unlock_session(&mut self, session_id: &str, counted: bool) {
        let tokens: Vec<DeliveryToken> = self
            .in_flight
            .iter()
            .filter(|(_, (s, _))| s.as_deref() == Some(session_id))
            .map(|(t, _)| *t)
            .collect();
        let mut returned: Vec<Message> = tokens
            .iter()
            .filter_map(|t| self.in_flight.remove(t).map(|(_, m)| m))
            .collect();
        returned.sort_by_key(|m| std::cmp::Reverse(m.sequence_number));
        for message in returned {
            self.put_back(Some(session_id), message, counted);
        }
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.holder = None;
            session.locked_until = None;
        }
    }

    fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        let (session, mut message) = self.in_flight.remove(&token).ok_or_else(|| {
            ServiceBusError::new(ErrorKind::MessageLockLost, "the lock supplied is invalid")
        })?;
        match settlement {
            Settlement::Complete => self.completed.push(message),
            Settlement::Abandon {
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.put_back(session.as_deref(), message, true);
            }
            Settlement::Defer {
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.deferred.push(message);
            }
            Settlement::DeadLetter {
                reason,
                description,
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.dead_letters.push(DeadLettered {
                    message,
                    reason,
                    description,
                });
            }
        }
        Ok(())
    }
}

/// Accepts sessions of one in-memory queue.
pub struct MemorySessionSource {
    broker: MemoryBroker,
    queue: String,
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
    broker: MemoryBroker,
    queue: String,
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
