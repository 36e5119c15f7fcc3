//! The errors every entity operation can return, with Service Bus's own texts and conditions.

use std::borrow::Cow;
use std::fmt;

/// Text Service Bus uses when a message without a session id is sent to a session entity.
pub const SESSION_ID_MISSING: &str = "The SessionId was not set on a message, and it cannot be sent to the entity. Entities that have session support enabled can only receive messages that have the SessionId set to a valid value.";
/// Text Service Bus uses when a plain receiver attaches to a session entity.
pub const SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER: &str = "It is not possible for an entity that requires sessions to create a non-sessionful message receiver.";
/// Text used when a session receiver attaches to an entity without sessions.
pub const SESSION_RECEIVER_ON_SESSIONLESS_ENTITY: &str = "A sessionful message receiver cannot be created on an entity that does not require sessions. Ensure RequiresSession is set to true when creating a Queue or Subscription to enable sessionful behavior.";
/// Text Service Bus uses when a sender targets a subscription.
pub const SENDER_ON_SUBSCRIPTION: &str = "Cannot create a message sender for a subscription";
/// Text used when a sender targets a dead-letter sub-queue.
pub const SENDER_ON_DEAD_LETTER_QUEUE: &str =
    "Cannot create a message sender for a dead-letter sub-queue; messages reach it only by being dead-lettered.";
/// Text used when a receiver targets a topic.
pub const RECEIVER_ON_TOPIC: &str =
    "Cannot create a message receiver on a topic; receive from one of its subscriptions.";
/// Text used when a message in a dead-letter sub-queue is dead-lettered again.
pub const DEAD_LETTER_IN_DEAD_LETTER_QUEUE: &str =
    "A message in a dead-letter sub-queue cannot be dead-lettered again.";

/// Why an entity operation failed.
///
/// [`EntityError::condition`] gives the AMQP error condition Service Bus uses for it,
/// [`EntityError::status_code`] the `$management` status code, and `Display` the description.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntityError {
    /// No queue, topic or subscription has this path.
    NotFound {
        /// The path as asked for.
        path: String,
    },
    /// An entity with this name exists already.
    AlreadyExists {
        /// The path as asked for.
        path: String,
    },
    /// The operation is not allowed on this entity (the text says why; see the constants in
    /// this module for the Service Bus texts).
    NotAllowed(Cow<'static, str>),
    /// A session asked for by id is locked by another receiver.
    SessionCannotBeLocked {
        /// The session asked for.
        session_id: String,
    },
    /// The session lock expired, was released, or was never held.
    SessionLockLost,
    /// The message lock is unknown, expired, or the message was already settled.
    MessageLockLost,
    /// A message asked for by sequence number does not exist (or is not deferred).
    MessageNotFound {
        /// The sequence number asked for.
        sequence_number: i64,
    },
    /// Sending would take the entity over its `max_size_bytes`.
    QuotaExceeded {
        /// The entity's path.
        path: String,
        /// Its size in bytes now.
        size: u64,
        /// Its limit.
        max: u64,
    },
    /// An argument is outside its allowed range (the text says which).
    ArgumentOutOfRange(String),
    /// An argument is malformed (the text says which).
    InvalidArgument(String),
    /// The durable store could not record the operation.
    Store(String),
    /// The entity's status (or its topic's) refuses the operation (`MessagingEntityDisabledException`).
    Disabled {
        /// The entity's path.
        path: String,
        /// Its status.
        status: super::EntityStatus,
    },
}

impl EntityError {
    /// The AMQP error condition (symbol) Service Bus uses for this error.
    pub fn condition(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "amqp:not-found",
            Self::AlreadyExists { .. } => "com.microsoft:entity-already-exists",
            Self::NotAllowed(_) => "amqp:not-allowed",
            Self::SessionCannotBeLocked { .. } => "com.microsoft:session-cannot-be-locked",
            Self::SessionLockLost => "com.microsoft:session-lock-lost",
            Self::MessageLockLost => "com.microsoft:message-lock-lost",
            Self::MessageNotFound { .. } => "com.microsoft:message-not-found",
            Self::QuotaExceeded { .. } => "amqp:resource-limit-exceeded",
            Self::ArgumentOutOfRange(_) => "com.microsoft:argument-out-of-range",
            Self::InvalidArgument(_) => "com.microsoft:argument-error",
            Self::Store(_) => "amqp:internal-error",
            Self::Disabled { .. } => "com.microsoft:entity-disabled",
        }
    }

    /// The `$management` status code that goes with [`EntityError::condition`].
    pub fn status_code(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::MessageNotFound { .. } => 404,
            Self::AlreadyExists { .. } => 409,
            Self::NotAllowed(_)
            | Self::ArgumentOutOfRange(_)
            | Self::InvalidArgument(_)
            | Self::Disabled { .. } => 400,
            Self::SessionCannotBeLocked { .. } | Self::SessionLockLost | Self::MessageLockLost => {
                410
            }
            Self::QuotaExceeded { .. } => 403,
            Self::Store(_) => 500,
        }
    }

    pub(crate) fn not_found(path: &str) -> Self {
        Self::NotFound {
            path: path.to_owned(),
        }
    }
}

impl fmt::Display for EntityError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { path } => {
                write!(f, "The messaging entity '{path}' could not be found.")
            }
            Self::AlreadyExists { path } => {
                write!(f, "The messaging entity '{path}' already exists.")
            }
            Self::NotAllowed(text) => f.write_str(text),
            Self::SessionCannotBeLocked { session_id } => write!(
                f,
                "The requested session '{session_id}' cannot be accepted. It may be locked by another receiver."
            ),
            Self::SessionLockLost => f.write_str(
                "The session lock has expired on the MessageSession. Accept a new MessageSession.",
            ),
            Self::MessageLockLost => f.write_str(
                "The lock supplied is invalid. Either the lock expired, or the message has already been removed from the queue.",
            ),
            Self::MessageNotFound { sequence_number } => write!(
                f,
                "Failed to lock one or more specified messages. The message with sequence number {sequence_number} does not exist or is not deferred."
            ),
            Self::QuotaExceeded { path, size, max } => write!(
                f,
                "The maximum entity size has been reached or exceeded for '{path}'. Size of entity in bytes:{size}, Max entity size in bytes:{max}."
            ),
            Self::ArgumentOutOfRange(text) | Self::InvalidArgument(text) => f.write_str(text),
            Self::Store(text) => write!(f, "The durable store failed: {text}"),
            Self::Disabled { path, status } => {
                let what = match status {
                    super::EntityStatus::SendDisabled => " for send operations",
                    super::EntityStatus::ReceiveDisabled => " for receive operations",
                    _ => "",
                };
                write!(f, "Messaging entity '{path}' is currently disabled{what}.")
            }
        }
    }
}

impl std::error::Error for EntityError {}
