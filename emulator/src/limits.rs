//! The limits the broker holds every client to, so that nothing a peer sends can make it
//! allocate without bound or hold resources forever. Set them with
//! [`BrokerBuilder::limits`](crate::broker::BrokerBuilder::limits); the defaults suit a
//! development broker that many tests and apps share.
//!
//! | Limit | Default | Over the limit |
//! |---|---|---|
//! | concurrent connections | 1000 | `open`, then `close` with `amqp:resource-limit-exceeded` |
//! | handshake time (TLS, header, SASL, `open`) | 30 s | the socket is closed (after `open` + `close` once the header is exchanged) |
//! | frame size (`max-frame-size`) | 256 KiB | `close` with `amqp:connection:framing-error`, before anything is allocated for the frame |
//! | sessions per connection (`channel-max` + 1) | 1024 | `close` with `amqp:not-allowed` |
//! | links per session (`handle-max` + 1) | 4096 | `close` with `amqp:not-allowed` |
//! | links per connection | 8192 | the attach is refused: `detach` with `amqp:resource-limit-exceeded` |
//! | message size | 256 KiB (+ 64 KiB batch envelope) | `detach` with `amqp:link:message-size-exceeded`, as soon as the partial delivery passes it |
//! | transfers without credit | — | `detach` with `amqp:link:transfer-limit-exceeded` |
//! | unfinished multi-frame deliveries, all links of a connection | 4 × the transfer limit, ≥ 16 MiB | `detach` with `amqp:resource-limit-exceeded` |
//! | silence after `open` (`idle-time-out`) | off | `close` with `amqp:resource-limit-exceeded` |
//! | entity size (`max_size_bytes` or `max_size_in_megabytes` per entity) | 1 GiB | the send is rejected with `amqp:resource-limit-exceeded` (Service Bus's QuotaExceeded text) |
//! | output waiting for a client that does not read | 4 MiB | no more transfers are written (and no input read) until it reads |
//! | `$management` replies | peek: the message size (≥ 1 message); 64 waiting for credit | fewer messages per peek; the reply link is detached with `amqp:resource-limit-exceeded` |
//!
//! The message size is set with
//! [`BrokerBuilder::max_message_size`](crate::broker::BrokerBuilder::max_message_size), the
//! entity size per entity (entities TOML or the admin API).

use std::time::Duration;

use crate::amqp::ConnectionConfig;

/// Connection-level limits of a broker (see the [module documentation](self) for what a
/// client sees when it passes one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most connections served at once (each listener counts its own).
    pub max_connections: usize,
    /// How long a client may take from TCP accept to its `open` (TLS handshake included).
    pub handshake_timeout: Duration,
    /// The `max-frame-size` advertised and enforced (raised to 4096 if lower).
    pub max_frame_size: u32,
    /// Most sessions per connection (advertised as `channel-max` = this − 1; at least 1).
    pub max_sessions_per_connection: u16,
    /// Most links per session (advertised as `handle-max` = this − 1; at least 1).
    pub max_links_per_session: u32,
    /// Most links attached at once on one connection, all sessions together.
    pub max_links_per_connection: usize,
    /// Advertised as `idle-time-out`: a connection that sends nothing (not even heartbeats)
    /// for this long is closed with `amqp:resource-limit-exceeded`. `None` (the default):
    /// never.
    pub idle_timeout: Option<Duration>,
}

impl Default for Limits {
    fn default() -> Self {
        let c = ConnectionConfig::default();
        Self {
            max_connections: c.max_connections,
            handshake_timeout: c.handshake_timeout,
            max_frame_size: c.max_frame_size,
            max_sessions_per_connection: c.channel_max.saturating_add(1),
            max_links_per_session: c.handle_max.saturating_add(1),
            max_links_per_connection: c.max_links,
            idle_timeout: c.idle_timeout,
        }
    }
}

impl Limits {
    /// Writes these limits into a connection configuration.
    pub(crate) fn apply(&self, config: &mut ConnectionConfig) {
        config.max_connections = self.max_connections;
        config.handshake_timeout = self.handshake_timeout;
        config.max_frame_size = self.max_frame_size;
        config.channel_max = self.max_sessions_per_connection.max(1) - 1;
        config.handle_max = self.max_links_per_session.max(1) - 1;
        config.max_links = self.max_links_per_connection;
        config.idle_timeout = self.idle_timeout;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_round_trip_and_counts_become_maxima() {
        let mut config = ConnectionConfig::default();
        Limits::default().apply(&mut config);
        assert_eq!(
            (config.channel_max, config.handle_max),
            (
                ConnectionConfig::default().channel_max,
                ConnectionConfig::default().handle_max
            )
        );
        let limits = Limits {
            max_sessions_per_connection: 0,
            max_links_per_session: 3,
            ..Limits::default()
        };
        limits.apply(&mut config);
        assert_eq!((config.channel_max, config.handle_max), (0, 2));
    }
}
