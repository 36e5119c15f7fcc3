//! An in-memory session source: Service Bus session semantics (locks, delivery counts,
//! dead-lettering, session state) without a broker, for testing the pumps.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, Message, ServiceBusError};
use bytes::Bytes;
use tokio::sync::Notify;

mod queue;
mod sources;

pub use sources::{MemoryMessageSource, MemorySession, MemorySessionSource};

use super::source::DeliveryToken;

/// How long [`MemoryBroker::wait_until`] waits before it fails the test.
pub const WAIT_LIMIT: Duration = Duration::from_secs(60);

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

    /// Messages locked by a receiver and not settled yet.
    pub fn in_flight(&self, queue: &str) -> usize {
        self.read(queue, |q| q.in_flight.len())
    }

    fn read<T: Default>(&self, queue: &str, f: impl FnOnce(&Queue) -> T) -> T {
        self.lock().queues.get(queue).map(f).unwrap_or_default()
    }

    /// Waits until `condition` holds on this broker (checked after every change), for at most
    /// [`WAIT_LIMIT`] of the runtime's clock.
    ///
    /// # Panics
    /// When the limit passes first, naming `what` it waited for: this is a test helper, and
    /// a regression must fail the test instead of hanging it.
    pub async fn wait_until(&self, what: &str, mut condition: impl FnMut(&MemoryBroker) -> bool) {
        let wait = async {
            loop {
                let notified = self.shared.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if condition(self) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(WAIT_LIMIT, wait).await.is_err() {
            panic!("waited {WAIT_LIMIT:?} for {what}, in vain");
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
