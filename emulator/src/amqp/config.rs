//! Per-connection settings: frame size, idle timeout, windows and the SASL policy.

use std::{fmt, sync::Arc, time::Duration};

/// Settings shared by every connection a broker serves.
///
/// Build one with [`ConnectionConfig::default`] and adjust the fields; wrap it in an [`Arc`]
/// and hand it to [`serve_connection`](super::serve_connection) or
/// [`Listener::bind`](super::Listener::bind).
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Our container id, sent in `open`.
    pub container_id: String,
    /// Largest frame we accept and advertise (`open.max-frame-size`). At least 4096.
    pub max_frame_size: u32,
    /// Highest channel number we accept (`open.channel-max`).
    pub channel_max: u16,
    /// Highest link handle we accept per session (`begin.handle-max`).
    pub handle_max: u32,
    /// Our idle timeout: advertised in `open`; a peer silent for this long is disconnected
    /// with `amqp:resource-limit-exceeded`. `None` means we never time a peer out.
    pub idle_timeout: Option<Duration>,
    /// Session incoming window (transfer frames) we grant and keep topped up.
    pub session_window: u32,
    /// Upper bound for one reassembled incoming message when the link sets no
    /// `max-message-size` of its own.
    pub max_message_size: u64,
    /// Most bytes of unfinished incoming deliveries (split across transfer frames) one
    /// connection may hold, all links together; the link whose frame would pass it is
    /// detached with `amqp:resource-limit-exceeded`.
    pub max_partial_bytes: usize,
    /// How long a client may take from TCP accept to a completed `open` (TLS handshake,
    /// protocol header, SASL and `open` together); a peer that stalls anywhere in it is
    /// disconnected.
    pub handshake_timeout: Duration,
    /// Most connections a [`Listener`](super::Listener) serves at once; the next one gets
    /// `open` then `close` with `amqp:resource-limit-exceeded`.
    pub max_connections: usize,
    /// Most links attached at once on one connection (all sessions together); an attach
    /// beyond it is refused with `amqp:resource-limit-exceeded`.
    pub max_links: usize,
    /// Which SASL mechanisms we offer and how PLAIN credentials are checked.
    pub sasl: SaslPolicy,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        Self {
            container_id: "berth-emulator".to_owned(),
            max_frame_size: 256 * 1024,
            channel_max: 1023,
            handle_max: 4095,
            idle_timeout: None,
            session_window: 65_536,
            max_message_size: 64 * 1024 * 1024,
            max_partial_bytes: 128 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(30),
            max_connections: 1000,
            max_links: 8192,
            sasl: SaslPolicy::default(),
        }
    }
}

impl ConnectionConfig {
    /// The frame size we really use: `max_frame_size` clamped to the spec minimum (512)
    /// and to a sane floor for our own split logic (4096).
    pub(crate) fn effective_max_frame_size(&self) -> u32 {
        self.max_frame_size.max(4096)
    }
}

/// Credentials a client presented with SASL `PLAIN`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainCredentials {
    /// Authorization identity (often empty).
    pub authzid: String,
    /// Authentication identity (the SAS key name for Service Bus clients).
    pub username: String,
    /// The password (the SAS key). Never log it.
    pub password: String,
}

/// Decides whether PLAIN credentials are accepted.
pub type PlainCheck = Arc<dyn Fn(&PlainCredentials) -> bool + Send + Sync>;

/// SASL behaviour of the broker.
#[derive(Clone)]
pub struct SaslPolicy {
    /// Offer and accept `ANONYMOUS`.
    pub allow_anonymous: bool,
    /// Offer and accept `PLAIN` (subject to `plain_check`).
    pub allow_plain: bool,
    /// Accept clients that skip SASL and send the plain AMQP header.
    pub allow_no_sasl: bool,
    /// Checks PLAIN credentials; `None` accepts everything.
    pub plain_check: Option<PlainCheck>,
}

impl Default for SaslPolicy {
    fn default() -> Self {
        Self {
            allow_anonymous: true,
            allow_plain: true,
            allow_no_sasl: true,
            plain_check: None,
        }
    }
}

impl fmt::Debug for SaslPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslPolicy")
            .field("allow_anonymous", &self.allow_anonymous)
            .field("allow_plain", &self.allow_plain)
            .field("allow_no_sasl", &self.allow_no_sasl)
            .field("plain_check", &self.plain_check.as_ref().map(|_| "<fn>"))
            .finish()
    }
}
