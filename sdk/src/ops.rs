//! The seam between the SDK and a host: what a host provides so that `SessionContext` and
//! `MessageActions` can reach the broker. Function authors never implement these.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;

use bytes::Bytes;

use crate::settlement::Settlement;

/// A boxed, sendable future, as the host seams return them.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What kind of broker operation failure this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The session lock expired or was taken; the session must be accepted again.
    SessionLockLost,
    /// The session asked for by id is locked by another receiver (Service Bus'
    /// `com.microsoft:session-cannot-be-locked`); try again later.
    SessionCannotBeLocked,
    /// The message lock expired; the message will be redelivered.
    MessageLockLost,
    /// The message was already settled (by `MessageActions` or the host).
    AlreadySettled,
    /// Session state larger than the broker accepts.
    StateTooLarge,
    /// The operation needs a session trigger.
    NotASession,
    /// The entity or message does not exist.
    NotFound,
    /// The broker did not answer in time.
    Timeout,
    /// The entity does not fit the trigger: a session receiver on an entity that does not
    /// require sessions, or a plain receiver on one that does. Retrying cannot help.
    EntityMismatch,
    /// The connection to the broker failed.
    Connection,
    /// Anything else the broker refused.
    Other,
}

/// A failed broker operation (settling, session state, lock renewal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceBusError {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The broker's or host's description.
    pub message: String,
}

impl ServiceBusError {
    /// An error of this kind with this description.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ServiceBusError {
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for ServiceBusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.kind, self.message)
    }
}

impl std::error::Error for ServiceBusError {}

/// Session operations a host provides to `SessionContext`.
pub trait SessionOps: Send + Sync + 'static {
    /// Reads the session state (`None` when none is set).
    fn get_state(&self) -> BoxFuture<'_, Result<Option<Bytes>, ServiceBusError>>;
    /// Writes the session state; `None` clears it.
    fn set_state(&self, state: Option<Bytes>) -> BoxFuture<'_, Result<(), ServiceBusError>>;
    /// Renews the session lock and returns the new expiry.
    fn renew_lock(&self) -> BoxFuture<'_, Result<SystemTime, ServiceBusError>>;
    /// The current session lock expiry, as last known.
    fn locked_until(&self) -> Option<SystemTime>;
}

/// Message settlement a host provides to `MessageActions`.
pub trait MessageOps: Send + Sync + 'static {
    /// Applies the settlement to the message of this invocation.
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>>;
}
