//! One message of a session: route it to its function and run it through the invocation
//! pipeline ([`crate::runtime::invoke`]), with the session pump as the message's holder.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth::host::SessionOps;
use berth::host::StateSlot;
use berth::{
    Message, Rejection, ServiceBusError, Settlement, TraceContext, MAX_SESSION_STATE_BYTES,
};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn, Instrument};

use super::lock::end_for;
use super::{Pump, SessionEnd};
use crate::logging::invocation_span;
use crate::ops::metrics::{FunctionMetrics, SettlementKind};
use crate::runtime::dispatch;
use crate::runtime::function::FunctionSpec;
use crate::runtime::invoke::{self, Holder, Lent};
use crate::runtime::observe::{InvocationReport, Observer};
use crate::runtime::source::{DeliveryToken, Received, SourceSession};

impl<S: SourceSession> Pump<S> {
    /// Routes one message and runs its invocation, or dead-letters it when no function
    /// takes it. `Some(end)` stops the session.
    pub(super) async fn invoke(&mut self, received: Received) -> Option<SessionEnd> {
        let function = match self.group.route(&received.message) {
            Ok(function) => function.clone(),
            Err(rejection) => return self.dead_letter_unrouted(received, rejection).await,
        };
        let Received { message, token } = received;
        let mut trace = TraceContext::for_properties(&message.application_properties);
        let span = invocation_span(
            &function,
            Some(&self.session_id),
            &message,
            &mut trace,
            &dispatch::invocation_id(),
        );
        self.invoke_in(&function, message, trace, token)
            .instrument(span)
            .await
    }

    async fn dead_letter_unrouted(
        &mut self,
        received: Received,
        rejection: Rejection,
    ) -> Option<SessionEnd> {
        self.unrouted += 1;
        let message = &received.message;
        warn!(
            message_id = message.message_id.as_deref().unwrap_or(""),
            sequence_number = message.sequence_number,
            reason = rejection.reason,
            description = %rejection.description,
            "no function takes this message; dead-lettering it"
        );
        let settlement = Settlement::dead_letter(rejection.reason, rejection.description);
        let kind = SettlementKind::from(&settlement);
        let report = self.group.observer.is_attached().then(|| {
            let entity = self.group.entity.path();
            InvocationReport::unrouted(entity, &received.message, settlement.clone())
        });
        let settled = self.session.settle(received.token, settlement).await;
        if let Some(report) = report {
            self.group.observer.report(&report.settled(&settled));
        }
        match settled {
            Ok(()) => {
                self.group.metrics.trigger.unrouted_settled(kind);
                None
            }
            Err(e) => {
                error!(error = %e, "dead-lettering the message failed; stopping the session so its order is kept");
                Some(end_for(&e))
            }
        }
    }

    async fn invoke_in(
        &mut self,
        function: &FunctionSpec,
        message: Message,
        trace: TraceContext,
        token: DeliveryToken,
    ) -> Option<SessionEnd> {
        let metrics = self.group.metrics.function(&function.name).clone();
        match invoke::invoke(self, function, &metrics, message, trace, token).await {
            Err(end) => Some(end),
            Ok(Ok(())) => None,
            Ok(Err(e)) => {
                error!(error = %e, "settling the message failed; stopping the session so its order is kept");
                Some(end_for(&e))
            }
        }
    }

    /// Writes the typed session state back after a successful invocation, before the message
    /// is settled. `Ok(Some(abandon))` when the new state cannot be stored (the message is
    /// abandoned instead of completed); `Err` when the session must stop.
    async fn write_back_state(
        &mut self,
        slot: &StateSlot,
    ) -> Result<Option<Settlement>, SessionEnd> {
        let Some(written) = slot.take_written() else {
            return Ok(None);
        };
        let bytes = match written {
            Ok(bytes) if bytes.len() <= MAX_SESSION_STATE_BYTES => bytes,
            Ok(bytes) => {
                error!(
                    size = bytes.len(),
                    limit = MAX_SESSION_STATE_BYTES,
                    "the new session state is larger than Service Bus keeps; the state is not written and the message is abandoned"
                );
                return Ok(Some(Settlement::abandon()));
            }
            Err(reason) => {
                error!(%reason, "the message is abandoned");
                return Ok(Some(Settlement::abandon()));
            }
        };
        if self.state.as_ref().and_then(|s| s.as_ref()) == Some(&bytes) {
            return Ok(None);
        }
        match self.session.set_state(Some(bytes.clone())).await {
            Ok(()) => {
                self.state = Some(Some(bytes));
                Ok(None)
            }
            Err(e) => {
                error!(error = %e, "writing the session state failed; the message is not settled");
                Err(end_for(&e))
            }
        }
    }
}

/// The session pump holds the message: it serves the handler's requests, keeps the session
/// lock renewed, proves the lock before each attempt, and owns the session state.
impl<S: SourceSession> Holder for Pump<S> {
    type Stop = SessionEnd;

    fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    fn observer(&self) -> &Observer {
        &self.group.observer
    }

    fn lend(&mut self, token: DeliveryToken, _metrics: &FunctionMetrics) -> Lent {
        let ops: Arc<dyn SessionOps> = Arc::new(self.handle.clone());
        Lent {
            session: Some((self.session_id.clone(), ops)),
            message_ops: self.handle.message_ops(token),
            state: self
                .state
                .as_ref()
                .map(|loaded| StateSlot::new(loaded.clone())),
            app_state: self.group.app_state.clone(),
        }
    }

    async fn ready(&mut self, attempt: u32) -> Result<(), SessionEnd> {
        self.ensure_lock_held().await?;
        if attempt == 1 {
            self.invocations += 1;
        }
        Ok(())
    }

    async fn drive_handler<F>(
        &mut self,
        future: F,
        token: DeliveryToken,
        metrics: &FunctionMetrics,
        cancellation: &CancellationToken,
    ) -> (F::Output, Option<SessionEnd>)
    where
        F: Future + Unpin + Send,
        F::Output: Send,
    {
        let (output, lock_lost) = self
            .drive(future, Some((token, metrics)), cancellation)
            .await;
        (output, lock_lost.then_some(SessionEnd::LockLost))
    }

    async fn wait(&mut self, delay: Duration) -> Result<(), SessionEnd> {
        self.wait_holding_lock(delay).await
    }

    async fn write_back(&mut self, slot: &StateSlot) -> Result<Option<Settlement>, SessionEnd> {
        self.write_back_state(slot).await
    }

    async fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        self.session.settle(token, settlement).await
    }
}
