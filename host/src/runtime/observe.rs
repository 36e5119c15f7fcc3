//! What the invocation pipeline tells an observer: one [`InvocationReport`] per delivery the
//! host is done with — invoked and settled (by the host or by the handler), left unsettled
//! (the lock was lost, or settling failed), or dead-lettered because no function takes it.
//!
//! The same facts as the `invocation completed` log line, as a value: the test harness
//! (`berth_host::testing`, the `testing` feature) records them to show a test what its
//! functions did, and an app that embeds the host can audit with them
//! ([`HostBuilder::observer`](crate::HostBuilder::observer)). Reports are made only when an
//! observer is attached; the pipeline costs nothing more without one.

use std::fmt;
use std::sync::{Arc, Mutex};

use berth::host::{BoxFuture, MessageOps};
use berth::{Message, ServiceBusError, Settlement};

use crate::ops::InvocationOutcome;

/// Sees each delivery the host is done with. Called on the pump's task, after the
/// settlement: keep it quick (record, count, hand off to a channel), never block.
pub trait InvocationObserver: Send + Sync + 'static {
    /// One delivery is done with.
    fn completed(&self, report: &InvocationReport);
}

/// What became of one delivery of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationReport {
    /// The function that took the message; `None` when no function of a routed group takes
    /// its message type (it is dead-lettered with `NoHandlerForMessageType`).
    pub function: Option<Arc<str>>,
    /// The entity path it was received from (`queue`, `topic/Subscriptions/sub`).
    pub entity: String,
    /// The session id.
    pub session_id: Option<String>,
    /// The message id.
    pub message_id: Option<String>,
    /// The broker's sequence number.
    pub sequence_number: i64,
    /// Deliveries so far, this one included (1 on the first), as the handler saw it.
    pub delivery_count: u32,
    /// Handler runs for this delivery (more than 1 with an in-order `retry` policy; 0 when
    /// no function took the message).
    pub attempts: u32,
    /// How the last handler run ended; `None` when no function took the message.
    pub outcome: Option<InvocationOutcome>,
    /// The last run's error, panic or rejection text, when it failed.
    pub error: Option<String>,
    /// The settlement applied, by the host or the handler; `None` when the message was left
    /// unsettled (see [`Self::unsettled`]).
    pub settlement: Option<Settlement>,
    /// Whether the handler settled the message itself (`MessageActions`).
    pub settled_by_handler: bool,
    /// Why the message is not settled: the lock was lost during the run, or the broker
    /// refused the settlement (it will be redelivered).
    pub unsettled: Option<String>,
}

impl InvocationReport {
    /// The settlement's name: `complete`, `abandon`, `defer`, `dead_letter`, or `unsettled`.
    pub fn settlement_name(&self) -> &'static str {
        self.settlement
            .as_ref()
            .map_or("unsettled", Settlement::name)
    }

    /// Whether the message is done with for good: completed, dead-lettered or deferred (an
    /// abandoned or unsettled message will be delivered again).
    pub fn is_final(&self) -> bool {
        matches!(
            self.settlement,
            Some(Settlement::Complete | Settlement::DeadLetter { .. } | Settlement::Defer { .. })
        )
    }

    /// The dead-letter reason and description, when the message was dead-lettered.
    pub fn dead_letter(&self) -> Option<(&str, &str)> {
        match &self.settlement {
            Some(Settlement::DeadLetter {
                reason,
                description,
                ..
            }) => Some((reason, description)),
            _ => None,
        }
    }

    /// The report of a message no function takes, dead-lettered with `settlement`.
    pub(crate) fn unrouted(entity: String, message: &Message, settlement: Settlement) -> Self {
        InvocationReport {
            settlement: Some(settlement),
            ..InvocationReport::received(None, entity, message)
        }
    }

    /// This report once the broker answered the settlement: unsettled if it refused.
    pub(crate) fn settled(mut self, answer: &Result<(), ServiceBusError>) -> Self {
        if let Err(e) = answer {
            self.settlement = None;
            self.unsettled = Some(format!("the broker refused the settlement: {e}"));
        }
        self
    }

    /// A report for `message` as received, before anything happened to it.
    pub(crate) fn received(function: Option<Arc<str>>, entity: String, message: &Message) -> Self {
        InvocationReport {
            function,
            entity,
            session_id: message.session_id.clone(),
            message_id: message.message_id.clone(),
            sequence_number: message.sequence_number,
            delivery_count: message.delivery_count,
            attempts: 0,
            outcome: None,
            error: None,
            settlement: None,
            settled_by_handler: false,
            unsettled: None,
        }
    }
}

impl fmt::Display for InvocationReport {
    /// One line: `function session message #sequence (delivery n): settlement`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} session {} message {} #{} (delivery {}): {}",
            self.function.as_deref().unwrap_or("(no function)"),
            self.session_id.as_deref().unwrap_or("-"),
            self.message_id.as_deref().unwrap_or("-"),
            self.sequence_number,
            self.delivery_count,
            self.settlement_name()
        )?;
        if let Some((reason, _)) = self.dead_letter() {
            write!(f, " ({reason})")?;
        }
        if let Some(why) = &self.unsettled {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

/// The observer of an entity group's pipeline, if any. Cheap to clone.
#[derive(Clone, Default)]
pub struct Observer(Option<Arc<dyn InvocationObserver>>);

impl Observer {
    /// Reports to `observer`.
    pub fn new(observer: Arc<dyn InvocationObserver>) -> Self {
        Observer(Some(observer))
    }

    /// Whether anyone listens (reports are made only then).
    pub fn is_attached(&self) -> bool {
        self.0.is_some()
    }

    /// Hands `report` to the observer.
    pub fn report(&self, report: &InvocationReport) {
        if let Some(observer) = &self.0 {
            observer.completed(report);
        }
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_attached() {
            "Observer(attached)"
        } else {
            "Observer(none)"
        })
    }
}

/// Settles through `inner` and remembers the last settlement the broker took: how the
/// pipeline learns what a handler did through `MessageActions`.
pub(crate) struct RecordingOps {
    inner: Arc<dyn MessageOps>,
    applied: Arc<Mutex<Option<Settlement>>>,
}

impl RecordingOps {
    /// Wraps `inner`; what it applies lands in `applied`.
    pub(crate) fn wrap(
        inner: Arc<dyn MessageOps>,
        applied: Arc<Mutex<Option<Settlement>>>,
    ) -> Arc<dyn MessageOps> {
        Arc::new(RecordingOps { inner, applied })
    }
}

impl MessageOps for RecordingOps {
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        Box::pin(async move {
            let settled = self.inner.settle(settlement.clone()).await;
            if settled.is_ok() {
                *self.applied.lock().unwrap_or_else(|e| e.into_inner()) = Some(settlement);
            }
            settled
        })
    }
}
