//! `MessageActions`: settle the message yourself (with `auto_complete = false`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::message::ApplicationPropertyMap;
use crate::ops::{ErrorKind, MessageOps, ServiceBusError};
use crate::settlement::Settlement;

/// Explicit settlement of this invocation's message. Meaningful with `auto_complete = false`;
/// a message settled here is not settled again by the host. A message left unsettled when
/// the handler returns is abandoned by the host (so the session's order is kept), with a
/// warning.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "jobs", auto_complete = false)]
/// async fn run(actions: MessageActions, body: String) -> Result<(), HandlerError> {
///     match body.as_str() {
///         "later" => actions.defer(Default::default()).await?,
///         "" => actions.dead_letter("EmptyJob", "the job has no body").await?,
///         _ => actions.complete().await?,
///     }
///     Ok(())
/// }
/// # fn main() {}
/// ```
#[derive(Clone)]
pub struct MessageActions {
    inner: Arc<Inner>,
}

struct Inner {
    ops: Arc<dyn MessageOps>,
    settled: AtomicBool,
}

impl MessageActions {
    /// Actions backed by a host's settlement operation.
    #[doc(hidden)]
    pub fn new(ops: Arc<dyn MessageOps>) -> Self {
        MessageActions {
            inner: Arc::new(Inner {
                ops,
                settled: AtomicBool::new(false),
            }),
        }
    }

    /// Whether the message was settled through these actions.
    pub fn is_settled(&self) -> bool {
        self.inner.settled.load(Ordering::Acquire)
    }

    /// Completes the message: it is removed from the entity.
    pub async fn complete(&self) -> Result<(), ServiceBusError> {
        self.settle(Settlement::Complete).await
    }

    /// Abandons the message, setting these application properties; it is redelivered.
    pub async fn abandon(
        &self,
        properties_to_modify: ApplicationPropertyMap,
    ) -> Result<(), ServiceBusError> {
        self.settle(Settlement::Abandon {
            properties_to_modify,
        })
        .await
    }

    /// Defers the message, setting these application properties.
    pub async fn defer(
        &self,
        properties_to_modify: ApplicationPropertyMap,
    ) -> Result<(), ServiceBusError> {
        self.settle(Settlement::Defer {
            properties_to_modify,
        })
        .await
    }

    /// Moves the message to the dead-letter queue with a reason and a description.
    pub async fn dead_letter(
        &self,
        reason: impl Into<String>,
        description: impl Into<String>,
    ) -> Result<(), ServiceBusError> {
        self.settle(Settlement::dead_letter(reason, description))
            .await
    }

    /// Applies any settlement, once.
    pub async fn settle(&self, settlement: Settlement) -> Result<(), ServiceBusError> {
        if self.inner.settled.swap(true, Ordering::AcqRel) {
            return Err(ServiceBusError::new(
                ErrorKind::AlreadySettled,
                "the message was already settled",
            ));
        }
        let result = self.inner.ops.settle(settlement).await;
        if result.is_err() {
            self.inner.settled.store(false, Ordering::Release);
        }
        result
    }
}

impl std::fmt::Debug for MessageActions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageActions")
            .field("settled", &self.is_settled())
            .finish()
    }
}
