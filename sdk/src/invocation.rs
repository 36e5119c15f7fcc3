//! `Invocation`: everything one call of a handler can draw its arguments from.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::actions::MessageActions;
use crate::app_state::AppState;
use crate::message::Message;
use crate::session::SessionContext;
use crate::state::StateSlot;
use crate::trace::TraceContext;

/// One invocation of a function: the message and what the host lends the handler. Hosts
/// build it; extractors read it.
#[derive(Debug, Clone)]
pub struct Invocation {
    function: Arc<str>,
    message: Message,
    session: Option<SessionContext>,
    actions: MessageActions,
    cancellation: CancellationToken,
    state: Option<Arc<StateSlot>>,
    trace: Option<TraceContext>,
    app_state: Option<Arc<AppState>>,
}

impl Invocation {
    /// An invocation of `function` for `message`, settled through `actions`, cancelled by
    /// `cancellation`; `session` is set for session triggers. For hosts.
    #[doc(hidden)]
    pub fn new(
        function: Arc<str>,
        message: Message,
        session: Option<SessionContext>,
        actions: MessageActions,
        cancellation: CancellationToken,
    ) -> Self {
        Invocation {
            function,
            message,
            session,
            actions,
            cancellation,
            state: None,
            trace: None,
            app_state: None,
        }
    }

    /// Lends the invocation the session state for `SessionState<T>` (session triggers). For
    /// hosts.
    #[doc(hidden)]
    pub fn with_state_slot(mut self, slot: Arc<StateSlot>) -> Self {
        self.state = Some(slot);
        self
    }

    /// Sets the trace context the invocation runs in (hosts derive it from the message).
    #[doc(hidden)]
    pub fn with_trace(mut self, trace: TraceContext) -> Self {
        self.trace = Some(trace);
        self
    }

    /// Lends the invocation the app's state, for `State<T>`.
    pub fn with_app_state(mut self, state: Arc<AppState>) -> Self {
        self.app_state = Some(state);
        self
    }

    /// The app's state, when the host lent it.
    pub fn app_state(&self) -> Option<&AppState> {
        self.app_state.as_deref()
    }

    /// The trace context, when the host set one.
    pub fn trace(&self) -> Option<&TraceContext> {
        self.trace.as_ref()
    }

    /// The session state slot, when the host lent one.
    #[doc(hidden)]
    pub fn state_slot(&self) -> Option<&Arc<StateSlot>> {
        self.state.as_ref()
    }

    /// The function's name.
    pub fn function(&self) -> &str {
        &self.function
    }

    /// The message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The session, for session triggers.
    pub fn session(&self) -> Option<&SessionContext> {
        self.session.as_ref()
    }

    /// The settlement actions for this message.
    pub fn actions(&self) -> &MessageActions {
        &self.actions
    }

    /// The token that fires on shutdown or on session lock loss.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }
}
