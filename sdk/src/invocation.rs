//! `Invocation`: everything one call of a handler can draw its arguments from.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::actions::MessageActions;
use crate::message::Message;
use crate::session::SessionContext;

/// One invocation of a function: the message and what the host lends the handler. Hosts
/// build it; extractors read it.
#[derive(Debug, Clone)]
pub struct Invocation {
    function: Arc<str>,
    message: Message,
    session: Option<SessionContext>,
    actions: MessageActions,
    cancellation: CancellationToken,
}

impl Invocation {
    /// An invocation of `function` for `message`, settled through `actions`, cancelled by
    /// `cancellation`; `session` is set for session triggers.
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
        }
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
