//! Looking at an entity from outside the protocol, for tests and tools that run the broker in
//! process (the host's test harness): what a receiver could only see holding a lock.

use bytes::Bytes;

use super::error::SESSION_RECEIVER_ON_SESSIONLESS_ENTITY;
use super::handle::EntityHandle;
use super::state::Sub;
use super::EntityError;

impl EntityHandle {
    /// The state of session `session_id`, whether or not a receiver holds its lock (Service
    /// Bus' `get-session-state` asks for the lock: see [`EntityHandle::session_state`]).
    /// `None` when the session has no state (or is unknown); an error on an entity without
    /// sessions.
    pub fn peek_session_state(&self, session_id: &str) -> Result<Option<Bytes>, EntityError> {
        let refused = || EntityError::NotAllowed(SESSION_RECEIVER_ON_SESSIONLESS_ENTITY.into());
        if self.sub != Sub::Main {
            return Err(refused());
        }
        // Inspection: whatever the status, and not activity.
        self.shared.with_quiet(|st, _, _| {
            let sessions = st.sessions.as_ref().ok_or_else(refused)?;
            Ok(sessions
                .slots
                .get(session_id)
                .and_then(|slot| slot.state.clone()))
        })
    }
}
