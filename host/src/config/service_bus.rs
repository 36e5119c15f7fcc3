//! Service Bus processing settings: the `[service_bus]` defaults and the per-function
//! `[functions.<name>]` overrides of `host.toml`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::duration;
use super::error::Location;
use super::field_types::{deserialize_at_least_one, deserialize_non_empty};
use super::retry::{Poison, RetryConfig};

/// How every function processes messages unless its `[functions.<name>]` table says
/// otherwise (the `[service_bus]` table of `host.toml`; Azure Functions' `extensions.serviceBus`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceBusSettings {
    /// How many messages a receiver asks the broker for ahead of processing (AMQP link
    /// credit beyond the one being handled). 0 = fetch one at a time. Default 0.
    pub prefetch_count: u32,
    /// How many sessions a session-enabled function processes at once (each session is
    /// processed strictly in order). At least 1. Default 8. A quiet session gives its slot
    /// back while it waits for more messages, so up to twice as many may be held.
    #[serde(deserialize_with = "deserialize_at_least_one")]
    pub max_concurrent_sessions: u32,
    /// How many messages a function without sessions processes at once. At least 1.
    /// Default 16.
    #[serde(deserialize_with = "deserialize_at_least_one")]
    pub max_concurrent_calls: u32,
    /// A session is released after this long without a message — or sooner, once a newer
    /// session has been accepted in the slot it gave back. Greater than zero. Default 5s.
    #[serde(deserialize_with = "duration::deserialize_positive")]
    pub session_idle_timeout: Duration,
    /// How long the host keeps renewing a message or session lock while a handler runs.
    /// 0 disables renewal. Default 5m.
    #[serde(deserialize_with = "duration::deserialize")]
    pub max_auto_lock_renewal_duration: Duration,
    /// Complete a message when its handler returns `Ok`, abandon it when the handler
    /// fails. Default true.
    pub auto_complete_messages: bool,
    /// Release a session after this many messages, so one busy session cannot hold a slot
    /// while others wait. At least 1. Default: no limit.
    #[serde(deserialize_with = "super::retry::deserialize_optional_at_least_one")]
    pub max_messages_per_session: Option<u32>,
    /// Release a session after every message (the strictest fairness). Default false.
    pub release_after_each_message: bool,
    /// Retry a failing invocation in order, inside the held session lock
    /// (`[service_bus.retry]`). Default: no retry (a failure abandons the message).
    pub retry: Option<RetryConfig>,
    /// What happens when the retries are exhausted: `dead_letter` (default) or `abandon`.
    pub poison: Poison,
    /// The application property holding a message's type, by which messages are routed
    /// when several functions share one entity (each with its `message_type`). Not
    /// overridable per function: it belongs to the entity's one receiver. Default
    /// `"MessageType"`.
    #[serde(deserialize_with = "deserialize_non_empty")]
    pub message_type_property: String,
    /// The AMQP idle timeout the host announces on its Service Bus connections: a
    /// connection on which nothing arrived for this long (not even the heartbeats the
    /// broker is asked to send twice as often) is declared dead and replaced, so a
    /// connection that went silent — dropped by a NAT or load balancer, a black hole — is
    /// found without waiting for its next use. Between 1s and 24h. Not overridable per
    /// function: every function on a connection shares it. Default 60s.
    #[serde(deserialize_with = "deserialize_connection_idle_timeout")]
    pub connection_idle_timeout: Duration,
    /// A PEM file of extra certificate authorities the host's TLS connections trust, added
    /// to the public web roots (and to `SSL_CERT_FILE` / `SSL_CERT_DIR`): for a
    /// TLS-inspecting proxy or a TLS-enabled local broker whose certificate a private CA
    /// signed. A relative path is taken from the directory of `host.toml`. The file is read
    /// and checked at start-up. Not overridable per function. Default: none.
    #[serde(deserialize_with = "deserialize_ca_file")]
    pub ca_file: Option<PathBuf>,
}

/// `deserialize_with` for `ca_file`: a path that is not blank.
fn deserialize_ca_file<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<PathBuf>, D::Error> {
    let path = String::deserialize(d)?;
    if path.trim().is_empty() {
        return Err(serde::de::Error::custom(
            "the CA file path must not be empty\nhint: name a PEM file of CA certificates, \
             e.g. `\"certs/corporate-ca.pem\"`, or remove the key",
        ));
    }
    Ok(Some(PathBuf::from(path)))
}

/// The shortest `connection_idle_timeout`: half of it is announced in whole milliseconds,
/// and below a second heartbeats would be most of the traffic.
const MIN_CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(1);

/// The longest `connection_idle_timeout` (AMQP carries it as 32-bit milliseconds).
const MAX_CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// `deserialize_with` for `connection_idle_timeout`: a duration between
/// [`MIN_CONNECTION_IDLE_TIMEOUT`] and [`MAX_CONNECTION_IDLE_TIMEOUT`].
fn deserialize_connection_idle_timeout<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Duration, D::Error> {
    let timeout = duration::deserialize(d)?;
    if (MIN_CONNECTION_IDLE_TIMEOUT..=MAX_CONNECTION_IDLE_TIMEOUT).contains(&timeout) {
        Ok(timeout)
    } else {
        Err(serde::de::Error::custom(
            "the connection idle timeout must be between 1s and 24h\nhint: for example \
             `\"60s\"` (the default), or `\"5s\"` to find a silent connection sooner",
        ))
    }
}

impl Default for ServiceBusSettings {
    fn default() -> Self {
        ServiceBusSettings {
            prefetch_count: 0,
            max_concurrent_sessions: 8,
            max_concurrent_calls: 16,
            session_idle_timeout: Duration::from_secs(5),
            max_auto_lock_renewal_duration: Duration::from_secs(5 * 60),
            auto_complete_messages: true,
            max_messages_per_session: None,
            release_after_each_message: false,
            retry: None,
            poison: Poison::DeadLetter,
            message_type_property: "MessageType".to_owned(),
            connection_idle_timeout: Duration::from_secs(60),
            ca_file: None,
        }
    }
}

impl ServiceBusSettings {
    /// These settings with a function's `host.toml` overrides applied.
    ///
    /// `host.toml` is the most specific source: its `auto_complete` wins over the
    /// attribute's, so a caller applying the attribute's `auto_complete` does it before this.
    pub fn with_overrides(&self, overrides: &FunctionOverrides) -> ServiceBusSettings {
        ServiceBusSettings {
            prefetch_count: overrides.prefetch_count.unwrap_or(self.prefetch_count),
            max_concurrent_sessions: overrides
                .max_concurrent_sessions
                .unwrap_or(self.max_concurrent_sessions),
            max_concurrent_calls: overrides
                .max_concurrent_calls
                .unwrap_or(self.max_concurrent_calls),
            session_idle_timeout: overrides
                .session_idle_timeout
                .unwrap_or(self.session_idle_timeout),
            max_auto_lock_renewal_duration: overrides
                .max_auto_lock_renewal_duration
                .unwrap_or(self.max_auto_lock_renewal_duration),
            auto_complete_messages: overrides
                .auto_complete
                .unwrap_or(self.auto_complete_messages),
            max_messages_per_session: overrides
                .max_messages_per_session
                .or(self.max_messages_per_session),
            release_after_each_message: overrides
                .release_after_each_message
                .unwrap_or(self.release_after_each_message),
            retry: overrides.retry.or(self.retry),
            poison: overrides.poison.unwrap_or(self.poison),
            message_type_property: self.message_type_property.clone(),
            connection_idle_timeout: self.connection_idle_timeout,
            ca_file: self.ca_file.clone(),
        }
    }
}

/// One `[functions.<name>]` table of `host.toml`: overrides for the function registered
/// under that name. `None` means "not set here".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionOverrides {
    /// Do not start this function.
    pub disabled: bool,
    /// Read from this queue instead of the registered one (binding expressions allowed).
    pub queue: Option<String>,
    /// Read from this topic instead of the registered one (binding expressions allowed).
    pub topic: Option<String>,
    /// Read from this subscription instead of the registered one (binding expressions
    /// allowed).
    pub subscription: Option<String>,
    /// The name of the app setting holding the connection string, instead of the
    /// registered one.
    pub connection: Option<String>,
    /// Overrides `[service_bus] prefetch_count`.
    pub prefetch_count: Option<u32>,
    /// Overrides `[service_bus] max_concurrent_sessions` (at least 1).
    pub max_concurrent_sessions: Option<u32>,
    /// Overrides `[service_bus] max_concurrent_calls` (at least 1).
    pub max_concurrent_calls: Option<u32>,
    /// Overrides `[service_bus] session_idle_timeout` (greater than zero).
    pub session_idle_timeout: Option<Duration>,
    /// Overrides `[service_bus] max_auto_lock_renewal_duration`.
    pub max_auto_lock_renewal_duration: Option<Duration>,
    /// Overrides `[service_bus] auto_complete_messages` and the attribute's `auto_complete`.
    pub auto_complete: Option<bool>,
    /// Overrides `[service_bus] max_messages_per_session`.
    pub max_messages_per_session: Option<u32>,
    /// Overrides `[service_bus] release_after_each_message`.
    pub release_after_each_message: Option<bool>,
    /// Overrides `[service_bus.retry]`.
    pub retry: Option<RetryConfig>,
    /// Overrides `[service_bus] poison`.
    pub poison: Option<Poison>,
    /// Accept only these sessions instead of the attribute's `session_ids` (session
    /// triggers; binding expressions allowed).
    pub session_ids: Option<Vec<String>>,
    /// Where the function's name is written in `host.toml` (the `[functions.<name>]`
    /// header), for error messages.
    pub location: Location,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set() {
        let base = ServiceBusSettings::default();
        let overrides = FunctionOverrides {
            max_concurrent_sessions: Some(2),
            session_idle_timeout: Some(Duration::from_secs(2)),
            auto_complete: Some(false),
            ..FunctionOverrides::default()
        };
        let merged = base.with_overrides(&overrides);
        assert_eq!(merged.max_concurrent_sessions, 2);
        assert_eq!(merged.session_idle_timeout, Duration::from_secs(2));
        assert!(!merged.auto_complete_messages);
        assert_eq!(merged.prefetch_count, base.prefetch_count);
        assert_eq!(merged.max_concurrent_calls, base.max_concurrent_calls);
        assert_eq!(
            merged.max_auto_lock_renewal_duration,
            base.max_auto_lock_renewal_duration
        );
        assert_eq!(base.with_overrides(&FunctionOverrides::default()), base);
    }
}
