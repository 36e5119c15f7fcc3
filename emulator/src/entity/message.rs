//! Messages as the entity layer sees them: opaque bytes plus the metadata Service Bus keeps.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::Instant;

use super::LockToken;

/// A message handed in by a sender. `body` is the whole encoded AMQP message; the entity
/// layer never looks inside it.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    /// The encoded message (its size counts against `max_size_bytes`).
    pub body: Bytes,
    /// `properties.group-id`: required by session entities, ignored by the others.
    pub session_id: Option<String>,
    /// `header.ttl`; the entity's `default_message_time_to_live` caps it.
    pub time_to_live: Option<Duration>,
    /// `x-opt-scheduled-enqueue-time`: in the future, the message is scheduled until then.
    pub scheduled_enqueue_time: Option<SystemTime>,
    /// `properties.message-id` as set by the application (duplicate detection's key); `None`
    /// when the sender set none.
    pub message_id: Option<String>,
}

impl NewMessage {
    /// A message with this body and no metadata.
    pub fn new(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// Sets the session id.
    pub fn with_session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Sets the time to live.
    pub fn with_time_to_live(mut self, ttl: Duration) -> Self {
        self.time_to_live = Some(ttl);
        self
    }

    /// Sets the message id duplicate detection looks at.
    pub fn with_message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Schedules the message.
    pub fn with_scheduled_enqueue_time(mut self, at: SystemTime) -> Self {
        self.scheduled_enqueue_time = Some(at);
        self
    }
}

/// `x-opt-message-state`: 0 active, 1 deferred, 2 scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageState {
    /// Receivable (or locked by a receiver).
    Active = 0,
    /// Deferred: receivable only by sequence number.
    Deferred = 1,
    /// Scheduled: becomes active at its scheduled enqueue time.
    Scheduled = 2,
}

impl MessageState {
    /// The `x-opt-message-state` value.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// Why a message is in a dead-letter sub-queue. The node layer writes `reason` and
/// `description` as the `DeadLetterReason` / `DeadLetterErrorDescription` application properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeadLetterInfo {
    /// `DeadLetterReason`.
    pub reason: Option<String>,
    /// `DeadLetterErrorDescription`.
    pub description: Option<String>,
    /// `x-opt-deadletter-source`: set only on a message that reached another entity by
    /// dead-letter forwarding (`forward_dead_lettered_messages_to`): the entity it was
    /// dead-lettered in.
    pub source: Option<String>,
}

/// Reason used when a message runs out of delivery attempts.
pub const MAX_DELIVERY_COUNT_EXCEEDED: &str = "MaxDeliveryCountExceeded";
/// Reason used when a message expires on an entity that dead-letters expired messages.
pub const TTL_EXPIRED: &str = "TTLExpiredException";
/// Reason used when a forwarded message would take more than [`MAX_TRANSFER_HOPS`] hops.
pub const MAX_TRANSFER_HOP_COUNT_EXCEEDED: &str = "MaxTransferHopCountExceeded";
/// How many times a message may be auto-forwarded (Service Bus: through at most four
/// chained queues or topics).
pub const MAX_TRANSFER_HOPS: u8 = 4;

/// How a receive takes messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiveMode {
    /// Lock the message; it stays until settled (or the lock expires).
    PeekLock,
    /// Remove the message as it is handed out.
    ReceiveAndDelete,
}

/// A message handed out by a receive, a peek or a receive-by-sequence-number.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// The encoded message as last stored (the node layer adds the broker annotations).
    pub body: Bytes,
    /// `x-opt-sequence-number`. Dead-lettered messages keep the number they had.
    pub sequence_number: i64,
    /// `x-opt-enqueued-time` (for a scheduled message, the time it became active).
    pub enqueued_time: SystemTime,
    /// `header.delivery-count`: deliveries before this one (0 on the first).
    pub delivery_count: u32,
    /// `x-opt-message-state`.
    pub state: MessageState,
    /// The lock token (`None` for receive-and-delete and peek).
    pub lock_token: Option<LockToken>,
    /// `x-opt-locked-until` (for a session message, the session lock's expiry).
    pub locked_until: Option<SystemTime>,
    /// When the message expires, if it can.
    pub expires_at: Option<SystemTime>,
    /// `x-opt-scheduled-enqueue-time`, if it was scheduled.
    pub scheduled_enqueue_time: Option<SystemTime>,
    /// The session id (`properties.group-id`) of a session entity's message.
    pub session_id: Option<Arc<str>>,
    /// Set for messages in a dead-letter sub-queue.
    pub dead_letter: Option<Arc<DeadLetterInfo>>,
}

/// How a locked message is settled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Remove it (`accepted`).
    Complete,
    /// Unlock it for redelivery, counting the attempt (`modified`); at `max_delivery_count`
    /// it is dead-lettered. `body` replaces the stored message (modified properties).
    Abandon {
        /// Replacement message bytes.
        body: Option<Bytes>,
    },
    /// Set it aside: receivable only by sequence number (`modified{undeliverable-here}`).
    Defer {
        /// Replacement message bytes.
        body: Option<Bytes>,
    },
    /// Move it to the dead-letter sub-queue (`rejected`).
    DeadLetter {
        /// `DeadLetterReason`.
        reason: Option<String>,
        /// `DeadLetterErrorDescription`.
        description: Option<String>,
        /// Replacement message bytes.
        body: Option<Bytes>,
    },
    /// Unlock it without counting the attempt (`released`).
    Release,
}

/// Expiry of a message: the wall-clock time reported, and the timer deadline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Expiry {
    pub at: SystemTime,
    pub deadline: Instant,
}

/// A lock held on a stored message.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeldLock {
    pub token: LockToken,
    /// Timer deadline (unused for session messages: the session lock covers them).
    pub deadline: Instant,
    pub locked_until: SystemTime,
}

/// A message held by an entity.
#[derive(Debug)]
pub(crate) struct StoredMessage {
    pub body: Bytes,
    pub session: Option<Arc<str>>,
    /// The message's own time to live (kept for forwarding).
    pub ttl: Option<Duration>,
    pub enqueued: SystemTime,
    pub expires: Option<Expiry>,
    pub scheduled: Option<SystemTime>,
    /// Timer deadline at which a scheduled message turns active.
    pub activate_at: Option<Instant>,
    pub state: MessageState,
    pub delivery_count: u32,
    pub lock: Option<HeldLock>,
    pub dead_letter: Option<Arc<DeadLetterInfo>>,
    /// Counted in a ready queue (available and not yet popped).
    pub queued: bool,
}

impl StoredMessage {
    /// The view handed to receivers; `locked_until` overrides the lock's own (sessions).
    pub fn view(&self, seq: i64, locked_until: Option<SystemTime>) -> ReceivedMessage {
        ReceivedMessage {
            body: self.body.clone(),
            sequence_number: seq,
            enqueued_time: self.enqueued,
            delivery_count: self.delivery_count,
            state: self.state,
            lock_token: self.lock.map(|l| l.token),
            locked_until: locked_until.or(self.lock.map(|l| l.locked_until)),
            expires_at: self.expires.map(|e| e.at),
            scheduled_enqueue_time: self.scheduled,
            session_id: self.session.clone(),
            dead_letter: self.dead_letter.clone(),
        }
    }

    /// Whether it should sit ready for a receiver.
    pub fn is_available(&self) -> bool {
        self.state == MessageState::Active && self.lock.is_none()
    }
}
