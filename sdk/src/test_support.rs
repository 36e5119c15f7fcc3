//! Invocations for the SDK's unit tests: a message, and settlement operations that record
//! what the handler asked for.

use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;

use crate::actions::MessageActions;
use crate::invocation::Invocation;
use crate::message::Message;
use crate::ops::{BoxFuture, MessageOps, ServiceBusError};
use crate::settlement::Settlement;

/// Records the settlements applied through `MessageActions`.
#[derive(Default)]
pub(crate) struct Recorded(pub(crate) Mutex<Vec<Settlement>>);

impl MessageOps for Recorded {
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(settlement);
        Box::pin(async { Ok(()) })
    }
}

/// An invocation of `test_function` for `message`, outside any session.
pub(crate) fn invocation(message: Message) -> Invocation {
    Invocation::new(
        "test_function".into(),
        message,
        None,
        MessageActions::new(Arc::new(Recorded::default())),
        CancellationToken::new(),
    )
}
