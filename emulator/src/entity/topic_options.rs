//! `TopicOptions`: the options Service Bus has on a topic itself, with its defaults.
//!
//! * `default_message_time_to_live` caps the time to live of every subscription's copy (the
//!   copy's TTL is the least of the message's, the topic's and the subscription's).
//! * `max_size_bytes` bounds what a subscription may hold of the topic's messages: a send
//!   that would take any subscription past it fails with `QuotaExceeded`. Service Bus stores a
//!   topic message once for all subscriptions and counts it once against the topic; here each
//!   subscription keeps its own copy, so the limit is checked per copy holder, which bounds
//!   the same thing when the subscriptions hold the same messages.
//! * `requires_duplicate_detection` / `duplicate_detection_history_time_window`: duplicate
//!   message ids are dropped at the topic, before fan-out.
//! * `status`: Disabled and SendDisabled refuse sends; Disabled and ReceiveDisabled refuse
//!   receives on every subscription.
//! * `auto_delete_on_idle`: the topic (with its subscriptions) is deleted after this long
//!   without sends, scheduled messages or operations on its subscriptions.

use std::time::Duration;

use super::options::{check_auto_delete, check_duplicate_window, DEFAULT_DUPLICATE_DETECTION_WINDOW};
use super::{EntityError, EntityStatus};

/// Options of a topic (`TopicProperties` in the SDKs' admin clients). Build with
/// struct-update syntax: `TopicOptions { requires_duplicate_detection: true, ..Default::default() }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicOptions {
    /// Caps every copy's time to live (default `Duration::MAX`: no cap).
    pub default_message_time_to_live: Duration,
    /// The most a subscription may hold of this topic's messages (default 1 GiB).
    pub max_size_bytes: u64,
    /// Drop messages whose message id was seen within the window (default false; fixed at
    /// creation).
    pub requires_duplicate_detection: bool,
    /// How long message ids are remembered (default 10 minutes, 20 seconds to 7 days).
    pub duplicate_detection_history_time_window: Duration,
    /// The status the topic is created with (default Active).
    pub status: EntityStatus,
    /// After this long idle the topic deletes itself (default `Duration::MAX`: never; at
    /// least 5 minutes).
    pub auto_delete_on_idle: Duration,
}

impl Default for TopicOptions {
    fn default() -> Self {
        Self {
            default_message_time_to_live: Duration::MAX,
            max_size_bytes: 1 << 30,
            requires_duplicate_detection: false,
            duplicate_detection_history_time_window: DEFAULT_DUPLICATE_DETECTION_WINDOW,
            status: EntityStatus::Active,
            auto_delete_on_idle: Duration::MAX,
        }
    }
}

impl TopicOptions {
    /// Checks the values are within Service Bus's limits.
    pub fn validate(&self) -> Result<(), EntityError> {
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
        check_auto_delete(self.auto_delete_on_idle)
    }
}
