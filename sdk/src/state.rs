//! `SessionState<T>`: the session's state as your own type, loaded when the session is
//! accepted and written back when the invocation succeeds, before the message is completed.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::Rejection;
use crate::extract::FromInvocation;
use crate::invocation::Invocation;

/// The most session state Service Bus keeps (256 KiB); a larger state fails the invocation.
pub const MAX_SESSION_STATE_BYTES: usize = 256 * 1024;

/// Where a host lends one invocation the session state and gets the new one back.
#[derive(Debug, Default)]
pub struct StateSlot {
    loaded: Option<Bytes>,
    written: Mutex<Option<Result<Bytes, String>>>,
}

impl StateSlot {
    /// A slot holding the state as loaded from the broker (`None`: no state yet).
    pub fn new(loaded: Option<Bytes>) -> Arc<Self> {
        Arc::new(StateSlot {
            loaded,
            written: Mutex::new(None),
        })
    }

    /// The state the invocation started with.
    pub fn loaded(&self) -> Option<&Bytes> {
        self.loaded.as_ref()
    }

    /// The state the handler left behind (`None`: it never took `SessionState`), or why it
    /// could not be serialized.
    pub fn take_written(&self) -> Option<Result<Bytes, String>> {
        self.written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn write(&self, value: Result<Bytes, String>) {
        *self.written.lock().unwrap_or_else(PoisonError::into_inner) = Some(value);
    }
}

/// The session state as a `T`, stored as JSON. Read and change it through `Deref` /
/// `DerefMut`; when the handler succeeds, the host writes the new value to the session (at
/// most [`MAX_SESSION_STATE_BYTES`]) before completing the message, so state and
/// completion move together. A failed invocation leaves the state as it was. A session
/// without state starts from `T::default()`; a state that is not a valid JSON `T`
/// dead-letters the message with reason `SessionStateInvalid`.
pub struct SessionState<T: Serialize> {
    value: T,
    slot: Arc<StateSlot>,
}

impl<T: Serialize> SessionState<T> {
    /// Replaces the whole state.
    pub fn set(&mut self, value: T) {
        self.value = value;
    }
}

impl<T: Serialize> Deref for SessionState<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Serialize> DerefMut for SessionState<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Serialize> Drop for SessionState<T> {
    fn drop(&mut self) {
        let written = serde_json::to_vec(&self.value)
            .map(Bytes::from)
            .map_err(|e| format!("the session state could not be serialized: {e}"));
        self.slot.write(written);
    }
}

impl<T: Serialize + std::fmt::Debug> std::fmt::Debug for SessionState<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SessionState").field(&self.value).finish()
    }
}

impl<T> FromInvocation for SessionState<T>
where
    T: Serialize + DeserializeOwned + Default,
{
    const NEEDS_SESSION: bool = true;
    const NEEDS_STATE: bool = true;

    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        let slot = invocation.state_slot().cloned().ok_or_else(|| {
            Rejection::new(
                "SessionContextUnavailable",
                "`SessionState` is only available to session triggers (sessions = true)",
            )
        })?;
        let value = match slot.loaded() {
            None => T::default(),
            Some(bytes) if bytes.is_empty() => T::default(),
            Some(bytes) => serde_json::from_slice(bytes).map_err(|e| {
                Rejection::new(
                    "SessionStateInvalid",
                    format!(
                        "the session state is not a valid JSON value of the handler's type: {e}"
                    ),
                )
            })?,
        };
        Ok(SessionState { value, slot })
    }
}
