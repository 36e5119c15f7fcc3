//! Where sessions and messages come from: the seam between the pumps and a broker.
//!
//! The AMQP client implements these traits against Service Bus; [`super::memory`]
//! implements them in memory for tests.

use std::future::Future;
use std::time::{Duration, SystemTime};

use berth::{Message, ServiceBusError, Settlement};
use bytes::Bytes;

/// Identifies one delivery for settlement (the lock token in peek-lock mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryToken(pub [u8; 16]);

/// A received message and the token to settle it with.
#[derive(Debug, Clone)]
pub struct Received {
    /// The message, as handlers see it.
    pub message: Message,
    /// The token to settle it with.
    pub token: DeliveryToken,
}

/// Accepts sessions of one session-enabled entity.
pub trait SessionSource: Send + Sync + 'static {
    /// An accepted session.
    type Session: SourceSession;

    /// Waits for the next available session. `Ok(None)` means the source is closed for
    /// good. Cancel-safe: dropping the future accepts nothing.
    fn accept_next(
        &self,
    ) -> impl Future<Output = Result<Option<Self::Session>, ServiceBusError>> + Send;

    /// Accepts the session `session_id`, whether or not it has messages: an empty session
    /// can be accepted, and receiving from it waits. Returns as soon as the broker answers,
    /// without waiting for messages; when another receiver holds the session, fails with
    /// [`berth::ErrorKind::SessionCannotBeLocked`]. `Ok(None)` means the source is closed
    /// for good. Cancel-safe: dropping the future accepts nothing (a lock the broker granted
    /// meanwhile is released).
    fn accept_session(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<Self::Session>, ServiceBusError>> + Send;

    /// How many accepts so far showed that accepting works: the broker answered (a session,
    /// or "none available yet"), or held the request until the connection dropped. The
    /// acceptor starts its retry backoff over when this moved since its last failure, so
    /// connection cuts on an idle entity do not make the wait after the next one grow. The
    /// default, 0, means the source cannot tell: the backoff then starts over only when a
    /// session is accepted.
    fn working_accepts(&self) -> u64 {
        0
    }
}

/// One accepted session, owned by one pump.
pub trait SourceSession: Send + 'static {
    /// The session id.
    fn session_id(&self) -> &str;

    /// Until when the session lock is held, as last known.
    fn locked_until(&self) -> Option<SystemTime>;

    /// Receives the session's next message, waiting at most `max_wait`; `Ok(None)` when
    /// none arrived in time. Cancel-safe.
    fn receive(
        &mut self,
        max_wait: Duration,
    ) -> impl Future<Output = Result<Option<Received>, ServiceBusError>> + Send;

    /// Settles a message received from this session.
    fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> impl Future<Output = Result<(), ServiceBusError>> + Send;

    /// Reads the session state.
    fn get_state(&mut self) -> impl Future<Output = Result<Option<Bytes>, ServiceBusError>> + Send;

    /// Writes (or with `None` clears) the session state.
    fn set_state(
        &mut self,
        state: Option<Bytes>,
    ) -> impl Future<Output = Result<(), ServiceBusError>> + Send;

    /// Renews the session lock, returning the new expiry.
    fn renew_lock(&mut self) -> impl Future<Output = Result<SystemTime, ServiceBusError>> + Send;

    /// Releases the session so that any receiver can accept it.
    fn release(self) -> impl Future<Output = ()> + Send;
}

/// Receives from a non-session entity; shared by the concurrent workers of one trigger.
pub trait MessageSource: Send + Sync + 'static {
    /// Receives the next message; `Ok(None)` means the source is closed. Cancel-safe.
    fn receive(&self) -> impl Future<Output = Result<Option<Received>, ServiceBusError>> + Send;

    /// Settles a received message.
    fn settle(
        &self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> impl Future<Output = Result<(), ServiceBusError>> + Send;
}

/// How a receiver without sessions takes messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverSettings {
    /// Messages buffered ahead of the workers.
    pub prefetch_count: u32,
    /// Workers taking messages at once (each holds one).
    pub max_concurrent_calls: u32,
    /// How long the lock of a message in hand is kept renewed (zero: never renewed).
    pub max_auto_lock_renewal_duration: Duration,
}
