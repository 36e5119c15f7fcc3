//! A function as the runtime runs it: resolved bindings and settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use berth::BoxedHandler;

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
