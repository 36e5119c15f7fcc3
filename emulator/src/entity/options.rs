//! Per-entity options (queues and subscriptions) with Service Bus's defaults.

use std::time::Duration;

use super::{EntityError, EntityStatus};

/// Service Bus's default duplicate detection window (10 minutes).
pub const DEFAULT_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Service Bus's shortest duplicate detection window (20 seconds).
pub const MIN_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(20);
/// Service Bus's longest duplicate detection window (7 days).
pub const MAX_DUPLICATE_DETECTION_WINDOW: Duration = Duration::from_secs(7 * 86_400);
/// Service Bus's shortest auto-delete-on-idle interval (5 minutes).
pub const MIN_AUTO_DELETE_ON_IDLE: Duration = Duration::from_secs(5 * 60);

/// Service Bus's longest allowed lock duration.
pub const MAX_LOCK_DURATION: Duration = Duration::from_secs(5 * 60);

/// Options of a queue or subscription. Build with struct-update syntax:
/// `EntityOptions { requires_session: true, ..EntityOptions::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityOptions {
    /// Messages must carry a session id and are received through session locks.
    pub requires_session: bool,
    /// How long a message lock (or a session lock) lasts before it must be renewed (default 60 s,
    /// at most 5 minutes).
    pub lock_duration: Duration,
    /// After this many failed deliveries a message is dead-lettered with reason
    /// `MaxDeliveryCountExceeded` (default 10, at least 1).
    pub max_delivery_count: u32,
    /// Time to live for messages that set none (or a longer one). `Duration::MAX` (the default)
    /// means messages never expire.
    pub default_message_time_to_live: Duration,
    /// Expired messages go to the dead-letter sub-queue (reason `TTLExpiredException`) instead
    /// of being dropped (default false).
    pub dead_lettering_on_message_expiration: bool,
    /// Largest total size of the entity's messages (including its dead-letter sub-queue); a
    /// send beyond it fails with [`EntityError::QuotaExceeded`] (default 1 GiB).
    pub max_size_bytes: u64,
    /// Queues only: a message whose message id was seen within
    /// `duplicate_detection_history_time_window` is accepted and dropped (default false; fixed
    /// at creation, as Service Bus has it).
    pub requires_duplicate_detection: bool,
    /// How long message ids are remembered (default 10 minutes, 20 seconds to 7 days).
    pub duplicate_detection_history_time_window: Duration,
    /// Every message that becomes active here moves on to this queue or topic (`ForwardTo`).
    /// The destination must exist when the entity is created and may not be the entity itself.
    pub forward_to: Option<String>,
    /// Every dead-lettered message moves on to this queue or topic
    /// (`ForwardDeadLetteredMessagesTo`), with `x-opt-deadletter-source` set to this entity.
    pub forward_dead_lettered_messages_to: Option<String>,
    /// The status the entity is created with (default Active); change it later with
    /// [`Namespace::set_status`](super::Namespace::set_status).
    pub status: EntityStatus,
    /// After this long without activity the entity deletes itself (default `Duration::MAX`:
    /// never; at least 5 minutes).
    pub auto_delete_on_idle: Duration,
}

impl Default for EntityOptions {
    fn default() -> Self {
        Self {
            requires_session: false,
            lock_duration: Duration::from_secs(60),
            max_delivery_count: 10,
            default_message_time_to_live: Duration::MAX,
            dead_lettering_on_message_expiration: false,
            max_size_bytes: 1 << 30,
            requires_duplicate_detection: false,
            duplicate_detection_history_time_window: DEFAULT_DUPLICATE_DETECTION_WINDOW,
            forward_to: None,
            forward_dead_lettered_messages_to: None,
            status: EntityStatus::Active,
            auto_delete_on_idle: Duration::MAX,
        }
    }
}

impl EntityOptions {
    /// Checks the values are within Service Bus's limits.
    pub fn validate(&self) -> Result<(), EntityError> {
        if self.lock_duration.is_zero() || self.lock_duration > MAX_LOCK_DURATION {
            return Err(EntityError::ArgumentOutOfRange(format!(
                "lock_duration must be more than zero and at most 5 minutes, not {:?}.",
                self.lock_duration
            )));
        }
        if self.max_delivery_count == 0 {
            return Err(EntityError::ArgumentOutOfRange(
                "max_delivery_count must be at least 1.".into(),
            ));
        }
        if self.default_message_time_to_live.is_zero() {
            return Err(EntityError::ArgumentOutOfRange(
                "default_message_time_to_live must be more than zero.".into(),
            ));
        }
        if self.max_size_bytes == 0 {
            return Err(EntityError::ArgumentOutOfRange(
                "max_size_bytes must be more than zero.".into(),
            ));
        }
        check_duplicate_window(self.duplicate_detection_history_time_window)?;
        check_auto_delete(self.auto_delete_on_idle)?;
        for (what, target) in [
            ("forward_to", &self.forward_to),
            (
                "forward_dead_lettered_messages_to",
                &self.forward_dead_lettered_messages_to,
            ),
        ] {
            if target.as_deref().is_some_and(|t| t.trim().is_empty()) {
                return Err(EntityError::InvalidArgument(format!(
                    "{what} must name a queue or topic."
                )));
            }
        }
        Ok(())
    }
}

/// Checks a duplicate detection window is within Service Bus's 20 seconds to 7 days.
pub(crate) fn check_duplicate_window(window: Duration) -> Result<(), EntityError> {
    if !(MIN_DUPLICATE_DETECTION_WINDOW..=MAX_DUPLICATE_DETECTION_WINDOW).contains(&window) {
        return Err(EntityError::ArgumentOutOfRange(format!(
            "duplicate_detection_history_time_window must be between 20 seconds and 7 days, not {window:?}."
        )));
    }
    Ok(())
}

/// Checks an auto-delete-on-idle interval is at least Service Bus's 5 minutes.
pub(crate) fn check_auto_delete(idle: Duration) -> Result<(), EntityError> {
    if idle < MIN_AUTO_DELETE_ON_IDLE {
        return Err(EntityError::ArgumentOutOfRange(format!(
            "auto_delete_on_idle must be at least 5 minutes, not {idle:?}."
        )));
    }
    Ok(())
}
