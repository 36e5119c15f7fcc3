//! `retry` and `poison`: in-order retry inside the session lock, and what happens when it is
//! exhausted (`[service_bus.retry]`, `[functions.<name>.retry]`).

use std::time::Duration;

use serde::Deserialize;

use super::duration::ConfigDuration;
use super::field_types::AtLeastOne;

/// A `retry` table: retry a failing invocation inside the held session lock, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts in all, the first one included. At least 1 (1 = no retry).
    #[serde(deserialize_with = "super::field_types::deserialize_at_least_one")]
    pub max_attempts: u32,
    /// The wait before the second attempt; it doubles after each failure. Default 1s.
    #[serde(
        default = "default_initial_delay",
        deserialize_with = "deserialize_duration"
    )]
    pub initial_delay: Duration,
    /// The longest wait between attempts. Default 30s.
    #[serde(
        default = "default_max_delay",
        deserialize_with = "deserialize_duration"
    )]
    pub max_delay: Duration,
}

fn default_initial_delay() -> Duration {
    Duration::from_secs(1)
}

fn default_max_delay() -> Duration {
    Duration::from_secs(30)
}

fn deserialize_duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    ConfigDuration::deserialize(d).map(ConfigDuration::get)
}

/// What happens to a message whose retries are exhausted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Poison {
    /// Dead-letter it with reason `MaxRetriesExceeded`; the session goes on. The default.
    #[default]
    DeadLetter,
    /// Abandon it: the broker redelivers it until the entity's max delivery count.
    Abandon,
}

/// `max_messages_per_session`: at least 1.
pub(crate) fn deserialize_optional_at_least_one<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<u32>, D::Error> {
    Option::<AtLeastOne>::deserialize(d).map(|v| v.map(|v| v.0))
}
