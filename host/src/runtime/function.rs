//! A function as the runtime runs it: resolved bindings and settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use berth::host::BoxedHandler;

use super::source::ReceiverSettings;

/// The entity a trigger receives from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Entity {
    /// A queue.
    Queue(String),
    /// A topic subscription.
    Subscription {
        /// The topic.
        topic: String,
        /// The subscription.
        subscription: String,
    },
}

impl Entity {
    /// The entity path as Service Bus addresses it (`queue`, `topic/Subscriptions/sub`).
    pub fn path(&self) -> String {
        match self {
            Entity::Queue(queue) => queue.clone(),
            Entity::Subscription {
                topic,
                subscription,
            } => format!("{topic}/Subscriptions/{subscription}"),
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entity::Queue(queue) => write!(f, "queue {queue}"),
            Entity::Subscription {
                topic,
                subscription,
            } => write!(f, "topic {topic} subscription {subscription}"),
        }
    }
}

/// The knobs of one trigger, after host defaults and per-function overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerSettings {
    /// Messages the receiver may buffer ahead of the handler.
    pub prefetch_count: u32,
    /// Sessions processed at once (session triggers).
    pub max_concurrent_sessions: u32,
    /// Messages processed at once (non-session triggers).
    pub max_concurrent_calls: u32,
    /// How long a session may go without a message, counted from the end of the last
    /// invocation, before it is released so another can be accepted.
    pub session_idle_timeout: Duration,
    /// How long the host keeps renewing a session lock after accepting the session.
    pub max_auto_lock_renewal_duration: Duration,
    /// Whether a handler's `Ok` completes the message.
    pub auto_complete: bool,
    /// Release a session after this many messages so others get a turn (`None`: no limit).
    pub max_messages_per_session: Option<u32>,
    /// Release a session after every message (the strictest fairness).
    pub release_after_each_message: bool,
    /// Retry a failing invocation inside the held session lock, in order.
    pub retry: Option<RetryPolicy>,
    /// What happens to a message whose retries are exhausted.
    pub poison: PoisonPolicy,
}

/// In-order retry: a failing invocation is run again, up to `max_attempts` in all, waiting
/// `initial_delay`, doubling up to `max_delay`, while the session lock is held (and renewed),
/// so the session's order is kept and the broker is not hammered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The wait before the second attempt.
    pub initial_delay: Duration,
    /// The longest wait between attempts.
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay(&self, attempt: u32) -> Duration {
        let factor = 1u32 << attempt.saturating_sub(1).min(20);
        self.initial_delay
            .saturating_mul(factor)
            .min(self.max_delay)
    }
}

/// What to do with a message whose in-order retries are exhausted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PoisonPolicy {
    /// Dead-letter it (reason `MaxRetriesExceeded`) and go on with the session.
    #[default]
    DeadLetter,
    /// Abandon it, leaving it to the entity's max delivery count.
    Abandon,
}

impl TriggerSettings {
    /// What a receiver without sessions needs of these settings.
    pub fn receiver(&self) -> ReceiverSettings {
        ReceiverSettings {
            prefetch_count: self.prefetch_count,
            max_concurrent_calls: self.max_concurrent_calls,
            max_auto_lock_renewal_duration: self.max_auto_lock_renewal_duration,
        }
    }
}

impl Default for TriggerSettings {
    fn default() -> Self {
        TriggerSettings {
            prefetch_count: 0,
            max_concurrent_sessions: 8,
            max_concurrent_calls: 16,
            session_idle_timeout: Duration::from_secs(5),
            max_auto_lock_renewal_duration: Duration::from_secs(300),
            auto_complete: true,
            max_messages_per_session: None,
            release_after_each_message: false,
            retry: None,
            poison: PoisonPolicy::DeadLetter,
        }
    }
}

/// One function, ready to run.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The function name.
    pub name: Arc<str>,
    /// The entity it is triggered by.
    pub entity: Entity,
    /// The app setting naming its connection.
    pub connection: String,
    /// Whether it is a session trigger.
    pub sessions: bool,
    /// Its settings.
    pub settings: TriggerSettings,
    /// Its handler.
    pub handler: BoxedHandler,
}
