//! `SessionContext`: the session of a session-triggered invocation.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::ops::{ServiceBusError, SessionOps};

/// The session this invocation's message belongs to: its id, its lock, and its state.
///
/// Only session triggers (`sessions = true`) can take it; the host refuses to start a
/// non-session function that asks for it (`Option<SessionContext>` is `None` there instead).
/// Prefer [`SessionState<T>`](crate::SessionState) for state the host should save with the
/// message's completion; `set_state` here writes at once.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "devices", sessions = true)]
/// async fn telemetry(session: SessionContext, body: String) -> Result<(), HandlerError> {
///     if body == "reset" {
///         session.clear_state().await?;
///     }
///     let _until = session.locked_until();
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct SessionContext {
    session_id: Arc<str>,
    ops: Arc<dyn SessionOps>,
}

impl SessionContext {
    /// A context for `session_id`, backed by a host's session operations.
    #[doc(hidden)]
    pub fn new(session_id: impl Into<Arc<str>>, ops: Arc<dyn SessionOps>) -> Self {
        SessionContext {
            session_id: session_id.into(),
            ops,
        }
    }

    /// The session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// Until when this host holds the session lock, as last known.
    pub fn locked_until(&self) -> Option<SystemTime> {
        self.ops.locked_until()
    }

    /// Reads the session state (`None` when none is set).
    pub async fn get_state(&self) -> Result<Option<Bytes>, ServiceBusError> {
        self.ops.get_state().await
    }

    /// Replaces the session state.
    pub async fn set_state(&self, state: impl Into<Bytes>) -> Result<(), ServiceBusError> {
        self.ops.set_state(Some(state.into())).await
    }

    /// Clears the session state.
    pub async fn clear_state(&self) -> Result<(), ServiceBusError> {
        self.ops.set_state(None).await
    }

    /// Renews the session lock now (the host also renews it on its own) and returns the
    /// new expiry.
    pub async fn renew_lock(&self) -> Result<SystemTime, ServiceBusError> {
        self.ops.renew_lock().await
    }
}

impl std::fmt::Debug for SessionContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionContext")
            .field("session_id", &self.session_id)
            .field("locked_until", &self.locked_until())
            .finish()
    }
}
