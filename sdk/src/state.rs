//! `SessionState<T>`: the session's state as your own type, loaded when the session is
//! accepted and written back when the invocation succeeds, before the message is completed.
//!
//! The rule: the value a `SessionState` holds when the handler returns is the one saved.
//! The handler owns its `SessionState`, so it is handed back to the invocation's slot when
//! the handler's future ends. A `SessionState` still alive then (moved into a spawned task,
//! stored in a global) cannot be saved: the host fails the invocation with an error naming
//! the state's type instead of losing the change silently.

use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{HandlerError, Rejection};
use crate::extract::FromInvocation;
use crate::invocation::Invocation;

/// The most session state Service Bus keeps (256 KiB); a larger state fails the invocation.
pub const MAX_SESSION_STATE_BYTES: usize = 256 * 1024;

/// Where a host lends one invocation the session state and gets the new one back.
#[derive(Debug, Default)]
pub struct StateSlot {
    loaded: Option<Bytes>,
    handed: Mutex<Handed>,
}

/// What the invocation's `SessionState`s did with the state.
#[derive(Debug, Default)]
struct Handed {
    /// `SessionState`s extracted and not dropped yet.
    out: usize,
    /// The type of the last one extracted, for the error when one outlives the handler.
    type_name: &'static str,
    /// The value the last one dropped held, serialized (or why it could not be).
    written: Option<Result<Bytes, String>>,
}

impl StateSlot {
    /// A slot holding the state as loaded from the broker (`None`: no state yet).
    pub fn new(loaded: Option<Bytes>) -> Arc<Self> {
        Arc::new(StateSlot {
            loaded,
            handed: Mutex::default(),
        })
    }

    /// The state the invocation started with.
    pub fn loaded(&self) -> Option<&Bytes> {
        self.loaded.as_ref()
    }

    /// The state the handler left behind (`None`: it never took `SessionState`, or one is
    /// still out, see [`StateSlot::outlived`]), or why it could not be serialized.
    pub fn take_written(&self) -> Option<Result<Bytes, String>> {
        let mut handed = self.handed();
        if handed.out > 0 {
            return None;
        }
        handed.written.take()
    }

    /// When the handler has returned and a `SessionState` it took is still alive (moved into
    /// a spawned task or stored away), the error that fails the invocation: its value cannot
    /// be saved, and dropping it later saves nothing.
    pub fn outlived(&self) -> Option<HandlerError> {
        let handed = self.handed();
        (handed.out > 0).then(|| {
            HandlerError::msg(format!(
                "a `SessionState<{}>` outlived the handler (moved into a spawned task?), so the \
                 session state cannot be saved; the state is left as it was. Give the task a \
                 clone of the value instead, and change the state in the handler",
                handed.type_name
            ))
        })
    }

    fn lend(&self, type_name: &'static str) {
        let mut handed = self.handed();
        handed.out += 1;
        handed.type_name = type_name;
    }

    fn hand_back(&self, value: Result<Bytes, String>) {
        let mut handed = self.handed();
        handed.out = handed.out.saturating_sub(1);
        handed.written = Some(value);
    }

    fn handed(&self) -> std::sync::MutexGuard<'_, Handed> {
        self.handed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The session state as a `T`, stored as JSON (session triggers only).
///
/// Read and change it through `Deref` / `DerefMut` (or replace it with
/// [`set`](SessionState::set)). When the handler returns `Ok`, the host writes the value it
/// holds then to the session (at most [`MAX_SESSION_STATE_BYTES`]) before completing the
/// message, so state and completion move together; a failed invocation leaves the state as
/// it was. A session without state starts from `T::default()`; a state that is not a valid
/// JSON `T` dead-letters the message with reason `SessionStateInvalid`.
///
/// Keep it in the handler: a `SessionState` moved into a spawned task is still alive when the
/// handler returns, so its value cannot be saved, and the host fails the invocation (the
/// message is retried with the state as it was) rather than lose the change silently. Give
/// the task a clone of the value instead.
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Totals { orders: u32, cents: i64 }
///
/// #[service_bus_trigger(queue = "customer-orders", sessions = true)]
/// async fn add(Json(cents): Json<i64>, mut totals: SessionState<Totals>) {
///     totals.orders += 1;
///     totals.cents += cents;
/// } // saved here, before the message is completed
/// # fn main() {}
/// ```
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

/// Hands the value back to the invocation's slot: when this happens before the handler
/// returns (the usual case), the host saves it.
impl<T: Serialize> Drop for SessionState<T> {
    fn drop(&mut self) {
        let written = serde_json::to_vec(&self.value)
            .map(Bytes::from)
            .map_err(|e| format!("the session state could not be serialized: {e}"));
        self.slot.hand_back(written);
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
        slot.lend(crate::extract::short_type_name::<T>());
        Ok(SessionState { value, slot })
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
