//! One message of a session: route it to its function, run the handler (retrying in order
//! inside the lock when configured), write the typed state back, and settle.

use std::sync::Arc;
use std::time::Duration;

use berth::host::{Outcome, StateSlot};
use berth::{Message, Rejection, Settlement, TraceContext, MAX_SESSION_STATE_BYTES};
use tracing::{error, info, warn, Instrument};

use super::lock::end_for;
use super::{Pump, SessionEnd};
use crate::logging::invocation_span;
use crate::ops::metrics::{FunctionMetrics, SettlementKind};
use crate::runtime::dispatch::{self, InvocationResult};
use crate::runtime::function::{FunctionSpec, PoisonPolicy};
use crate::runtime::settle::{self, Decision};
use crate::runtime::source::{DeliveryToken, Received, SourceSession};

/// One run of the handler.
struct Attempt {
    result: InvocationResult,
    state: Option<Arc<StateSlot>>,
    settled_by_handler: bool,
    lock_lost: bool,
    elapsed: Duration,
}

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
        match self.session.settle(received.token, settlement).await {
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
        let settings = &function.settings;
        let retry = settings.retry;
        let metrics = self.group.metrics.function(&function.name).clone();
        let mut attempt = 1u32;
        let mut message = Some(message);
        let last = loop {
            let current = match (&retry, message.take()) {
                (Some(_), Some(m)) => {
                    message = Some(m.clone());
                    m
                }
                (_, Some(m)) => m,
                (_, None) => return Some(SessionEnd::Failed("no message to retry".into())),
            };
            if let Err(end) = self.ensure_lock_held().await {
                return Some(end);
            }
            if attempt == 1 {
                self.invocations += 1;
            }
            let tried = self
                .attempt(function, current, trace.clone(), token, &metrics)
                .await;
            metrics.invoked(&tried.result, tried.elapsed);
            log_result(&tried.result);
            if tried.lock_lost {
                error!(
                    duration_ms = tried.elapsed.as_millis() as u64,
                    "session lock lost during the invocation; the message is not settled and will be redelivered"
                );
                return Some(SessionEnd::LockLost);
            }
            match retry {
                Some(policy)
                    if settle::retryable(&tried.result)
                        && !tried.settled_by_handler
                        && attempt < policy.max_attempts
                        && !self.shutdown.is_cancelled() =>
                {
                    let delay = policy.delay(attempt);
                    warn!(
                        attempt,
                        max_attempts = policy.max_attempts,
                        retry_in_ms = delay.as_millis() as u64,
                        "retrying inside the session lock"
                    );
                    if let Err(end) = self.wait_holding_lock(delay).await {
                        return Some(end);
                    }
                    attempt += 1;
                }
                _ => break tried,
            }
        };
        let result = &last.result;
        let mut decision = settle::decide(result, settings.auto_complete, last.settled_by_handler);
        if let (Some(policy), Decision::Settle(Settlement::Abandon { .. })) = (&retry, &decision) {
            if settle::retryable(result)
                && !self.shutdown.is_cancelled()
                && settings.poison == PoisonPolicy::DeadLetter
            {
                decision = Decision::Settle(Settlement::dead_letter(
                    "MaxRetriesExceeded",
                    format!(
                        "the handler failed {attempt} of {} attempts; last error: {}",
                        policy.max_attempts,
                        failure_text(result)
                    ),
                ));
            }
        }
        if let Some(slot) = &last.state {
            match self.write_back_state(slot, result).await {
                Ok(None) => {}
                Ok(Some(failure)) => decision = Decision::Settle(failure),
                Err(end) => return Some(end),
            }
        }
        let settlement_name = match &decision {
            Decision::Settle(settlement) => settlement.name(),
            Decision::SettledByHandler => "by_handler",
        };
        if let (
            Decision::Settle(Settlement::Abandon { .. }),
            InvocationResult::Returned(Outcome::Done),
        ) = (&decision, result)
        {
            warn!("auto_complete is off and the handler did not settle the message; abandoning it");
        }
        let settled = match decision {
            Decision::Settle(settlement) => {
                let kind = SettlementKind::from(&settlement);
                let settled = self.session.settle(token, settlement).await;
                if settled.is_ok() {
                    metrics.settled(kind);
                }
                settled
            }
            Decision::SettledByHandler => Ok(()),
        };
        // `confirmed`: the broker answered with the outcome asked for (a failure is logged
        // next, and the session stops).
        info!(
            outcome = settle::outcome_name(result),
            settlement = settlement_name,
            confirmed = settled.is_ok(),
            attempts = attempt,
            duration_ms = last.elapsed.as_millis() as u64,
            messaging.servicebus.disposition_status = settlement_name,
            "invocation completed"
        );
        match settled {
            Ok(()) => None,
            Err(e) => {
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
        result: &InvocationResult,
    ) -> Result<Option<Settlement>, SessionEnd> {
        let succeeded = matches!(
            result,
            InvocationResult::Returned(Outcome::Done | Outcome::Settle(_))
        );
        let written = match slot.take_written() {
            Some(written) if succeeded => written,
            _ => return Ok(None),
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

    /// Runs the handler once, serving its requests and renewing the lock meanwhile.
    async fn attempt(
        &mut self,
        function: &FunctionSpec,
        message: Message,
        trace: TraceContext,
        token: DeliveryToken,
        metrics: &FunctionMetrics,
    ) -> Attempt {
        let cancellation = self.shutdown.child_token();
        let state = self
            .state
            .as_ref()
            .map(|loaded| StateSlot::new(loaded.clone()));
        let ops: Arc<dyn berth::host::SessionOps> = Arc::new(self.handle.clone());
        let started = dispatch::start(
            function,
            message,
            trace,
            Some((self.session_id.clone(), ops)),
            self.handle.message_ops(token),
            cancellation.clone(),
            state.clone(),
        );
        let (result, lock_lost) = match started.future {
            Err(rejection) => (InvocationResult::Rejected(rejection), false),
            Ok(future) => {
                let (output, lock_lost) = self
                    .drive(future, Some((token, metrics)), &cancellation)
                    .await;
                let result = match output {
                    Ok(outcome) => InvocationResult::Returned(outcome),
                    Err(panic) => InvocationResult::Panicked(panic),
                };
                (fail_if_state_outlived(result, state.as_deref()), lock_lost)
            }
        };
        Attempt {
            result,
            state,
            settled_by_handler: started.actions.is_settled(),
            lock_lost,
            elapsed: started.started_at.elapsed(),
        }
    }
}

/// A successful invocation whose `SessionState` outlived the handler (moved into a spawned
/// task) fails: its change cannot be saved, and must not be lost silently.
fn fail_if_state_outlived(result: InvocationResult, slot: Option<&StateSlot>) -> InvocationResult {
    match (result, slot.and_then(StateSlot::outlived)) {
        (InvocationResult::Returned(Outcome::Done | Outcome::Settle(_)), Some(error)) => {
            InvocationResult::Returned(Outcome::Failed(error))
        }
        (result, _) => result,
    }
}

fn failure_text(result: &InvocationResult) -> String {
    match result {
        InvocationResult::Returned(Outcome::Failed(e)) => e.to_string(),
        InvocationResult::Panicked(panic) => format!("panic: {panic}"),
        _ => String::new(),
    }
}

/// Logs what went wrong in an invocation, if anything.
pub(crate) fn log_result(result: &InvocationResult) {
    match result {
        InvocationResult::Rejected(rejection) => warn!(
            reason = rejection.reason,
            description = %rejection.description,
            "the message could not be turned into the handler's arguments; dead-lettering it"
        ),
        InvocationResult::Returned(Outcome::Failed(e)) => match e.dead_letter_reason() {
            Some(reason) => warn!(
                error = %e,
                reason,
                "the handler returned an error not worth retrying; dead-lettering the message"
            ),
            None => warn!(error = %e, "the handler returned an error"),
        },
        InvocationResult::Panicked(panic) => error!(panic = %panic, "the handler panicked"),
        InvocationResult::Returned(_) => {}
    }
}
