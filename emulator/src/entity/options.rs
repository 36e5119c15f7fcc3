//! Per-entity options (queues and subscriptions) with Service Bus's defaults.

use std::time::Duration;

use super::EntityError;

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
        Ok(())
    }
}
