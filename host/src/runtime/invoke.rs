//! One message's invocation, the same for session and non-session triggers: run the
//! handler ([`super::dispatch`]: extraction, panic catch), retry it in order with backoff when
//! the function has a `retry` policy, apply the `poison` policy once the attempts are spent,
//! write the typed session state back, settle ([`super::settle`] decides how), count it, log
//! the `invocation completed` line, and tell the group's observer ([`super::observe`]).
//!
//! What differs between the triggers is how the message is held while this runs, the
//! `Holder`: a session pump serves the handler's session requests, keeps the session lock
//! renewed, checks it is still held before each attempt and owns the session state; a
//! non-session worker settles on its receiver directly (which renews the message's lock).

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::{AppState, MessageOps, Outcome, SessionOps, StateSlot};
use berth::{Message, ServiceBusError, Settlement, TraceContext};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use super::catch_panic::CatchPanic;
use super::dispatch::{self, InvocationResult};
use super::function::{FunctionSpec, PoisonPolicy};
use super::observe::{InvocationReport, Observer, RecordingOps};
use super::settle::{self, Decision};
use super::source::DeliveryToken;
use crate::ops::metrics::{FunctionMetrics, SettlementKind};

/// The dead-letter reason of a message whose in-order retries are spent.
pub const MAX_RETRIES_REASON: &str = "MaxRetriesExceeded";

/// What the holder of a message lends one attempt of its handler.
pub(crate) struct Lent {
    /// The session id and its operations (session triggers).
    pub(crate) session: Option<(Arc<str>, Arc<dyn SessionOps>)>,
    /// What `MessageActions` settles through.
    pub(crate) message_ops: Arc<dyn MessageOps>,
    /// The typed session state, when a function of the group takes `SessionState`.
    pub(crate) state: Option<Arc<StateSlot>>,
    /// The app's state, for `State<T>`.
    pub(crate) app_state: Arc<AppState>,
}

/// Whoever holds the message while it is invoked: a session pump or a non-session worker.
pub(crate) trait Holder {
    /// Why the holder stops before the message is settled (a session: how it ends).
    type Stop;

    /// Fires on host shutdown: no further retry, no poison verdict.
    fn shutdown(&self) -> &CancellationToken;

    /// Who hears what became of each delivery (the entity group's observer).
    fn observer(&self) -> &Observer;

    /// What one attempt may use.
    fn lend(&mut self, token: DeliveryToken, metrics: &FunctionMetrics) -> Lent;

    /// Before attempt number `attempt`: whether the message may still be run.
    fn ready(&mut self, attempt: u32) -> impl Future<Output = Result<(), Self::Stop>> + Send;

    /// Runs the handler's future to its end; with how the holder stops when the message's
    /// lock was lost on the way (`cancellation` then fired).
    fn drive_handler<F>(
        &mut self,
        future: F,
        token: DeliveryToken,
        metrics: &FunctionMetrics,
        cancellation: &CancellationToken,
    ) -> impl Future<Output = (F::Output, Option<Self::Stop>)> + Send
    where
        F: Future + Unpin + Send,
        F::Output: Send;

    /// Waits between attempts, holding the message.
    fn wait(&mut self, delay: Duration) -> impl Future<Output = Result<(), Self::Stop>> + Send;

    /// Writes what the handler left in the state slot after a successful invocation, before
    /// the settlement. `Ok(Some(settlement))` replaces the settlement (the state could not be
    /// stored).
    fn write_back(
        &mut self,
        slot: &StateSlot,
    ) -> impl Future<Output = Result<Option<Settlement>, Self::Stop>> + Send;

    /// Settles the message.
    fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> impl Future<Output = Result<(), ServiceBusError>> + Send;
}

/// One run of the handler.
struct Attempt<Stop> {
    result: InvocationResult,
    state: Option<Arc<StateSlot>>,
    settled_by_handler: bool,
    /// How the holder stops, when the lock was lost during the run.
    lock_lost: Option<Stop>,
    elapsed: Duration,
}

/// Invokes `function` for `message` held by `holder`, to its settlement. `Err` when the
/// holder stopped before settling; otherwise the broker's verdict on the settlement
/// (`Ok(())` also when the handler settled the message itself).
pub(crate) async fn invoke<H: Holder + Send>(
    holder: &mut H,
    function: &FunctionSpec,
    metrics: &FunctionMetrics,
    message: Message,
    trace: TraceContext,
    token: DeliveryToken,
) -> Result<Result<(), ServiceBusError>, H::Stop> {
    let observer = holder.observer().clone();
    let mut report = observer.is_attached().then(|| {
        InvocationReport::received(
            Some(function.name.clone()),
            function.entity.path(),
            &message,
        )
    });
    let done = run_to_settlement(
        holder,
        function,
        metrics,
        message,
        trace,
        token,
        report.as_mut(),
    )
    .await;
    let Some(mut report) = report else {
        return done;
    };
    match &done {
        Err(_) if report.unsettled.is_none() => {
            report.settlement = None;
            report.unsettled = Some("the session ended before the message was settled".into());
        }
        Ok(Err(e)) => {
            report.settlement = None;
            report.unsettled = Some(format!("the broker refused the settlement: {e}"));
        }
        _ => {}
    }
    observer.report(&report);
    done
}

/// [`invoke`], filling `report` (when someone observes) as it goes.
async fn run_to_settlement<H: Holder + Send>(
    holder: &mut H,
    function: &FunctionSpec,
    metrics: &FunctionMetrics,
    message: Message,
    trace: TraceContext,
    token: DeliveryToken,
    mut report: Option<&mut InvocationReport>,
) -> Result<Result<(), ServiceBusError>, H::Stop> {
    // What the handler applies through `MessageActions`, when someone observes.
    let applied = report.as_ref().map(|_| Arc::new(Mutex::new(None)));
    let settings = &function.settings;
    let retry = settings.retry;
    let mut attempt = 1u32;
    // A copy of the message only when it may be needed again.
    let mut spare = retry.map(|_| message.clone());
    let mut current = Some(message);
    let last = loop {
        let Some(message) = current.take() else {
            // Unreachable: a retry always keeps a spare.
            break None;
        };
        holder.ready(attempt).await?;
        let tried = run_attempt(
            holder,
            function,
            metrics,
            message,
            trace.clone(),
            token,
            applied.as_ref(),
        )
        .await;
        metrics.invoked(settle::outcome(&tried.result), tried.elapsed);
        log_result(&tried.result);
        if let Some(report) = report.as_deref_mut() {
            report.attempts = attempt;
            report.outcome = Some(settle::outcome(&tried.result));
            report.error = error_text(&tried.result);
        }
        if let Some(stop) = tried.lock_lost {
            if let Some(report) = report.as_deref_mut() {
                report.unsettled = Some("the lock was lost during the invocation".into());
            }
            error!(
                duration_ms = tried.elapsed.as_millis() as u64,
                "the lock was lost during the invocation; the message is not settled and will be redelivered"
            );
            return Err(stop);
        }
        match retry {
            Some(policy)
                if settle::retryable(&tried.result)
                    && !tried.settled_by_handler
                    && attempt < policy.max_attempts
                    && !holder.shutdown().is_cancelled() =>
            {
                let delay = policy.delay(attempt);
                warn!(
                    attempt,
                    max_attempts = policy.max_attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    "retrying in order, holding the message"
                );
                holder.wait(delay).await?;
                attempt += 1;
                current = if attempt < policy.max_attempts {
                    spare.clone()
                } else {
                    spare.take()
                };
            }
            _ => break Some(tried),
        }
    };
    let Some(last) = last else {
        return Ok(Ok(()));
    };
    let result = &last.result;
    let mut decision = settle::decide(result, settings.auto_complete, last.settled_by_handler);
    if let (Some(policy), Decision::Settle(Settlement::Abandon { .. })) = (&retry, &decision) {
        if settle::retryable(result)
            && !holder.shutdown().is_cancelled()
            && settings.poison == PoisonPolicy::DeadLetter
        {
            decision = Decision::Settle(Settlement::dead_letter(
                MAX_RETRIES_REASON,
                format!(
                    "the handler failed {attempt} of {} attempts; last error: {}",
                    policy.max_attempts,
                    failure_text(result)
                ),
            ));
        }
    }
    let succeeded = matches!(
        result,
        InvocationResult::Returned(Outcome::Done | Outcome::Settle(_))
    );
    if let Some(slot) = last.state.as_deref().filter(|_| succeeded) {
        if let Some(failure) = holder.write_back(slot).await? {
            decision = Decision::Settle(failure);
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
    if let Some(report) = report {
        match &decision {
            Decision::Settle(settlement) => report.settlement = Some(settlement.clone()),
            Decision::SettledByHandler => {
                report.settled_by_handler = true;
                report.settlement =
                    applied.and_then(|a| a.lock().unwrap_or_else(|e| e.into_inner()).take());
            }
        }
    }
    let settled = match decision {
        Decision::Settle(settlement) => {
            let kind = SettlementKind::from(&settlement);
            let settled = holder.settle(token, settlement).await;
            if settled.is_ok() {
                metrics.settled(kind);
            }
            settled
        }
        Decision::SettledByHandler => Ok(()),
    };
    // `confirmed`: the broker answered with the outcome asked for (a failure is logged by
    // the caller).
    info!(
        outcome = settle::outcome_name(result),
        settlement = settlement_name,
        confirmed = settled.is_ok(),
        attempts = attempt,
        duration_ms = last.elapsed.as_millis() as u64,
        messaging.servicebus.disposition_status = settlement_name,
        "invocation completed"
    );
    Ok(settled)
}

/// Runs the handler once with what the holder lends it.
async fn run_attempt<H: Holder + Send>(
    holder: &mut H,
    function: &FunctionSpec,
    metrics: &FunctionMetrics,
    message: Message,
    trace: TraceContext,
    token: DeliveryToken,
    applied: Option<&Arc<Mutex<Option<Settlement>>>>,
) -> Attempt<H::Stop> {
    let cancellation = holder.shutdown().child_token();
    let mut lent = holder.lend(token, metrics);
    if let Some(applied) = applied {
        lent.message_ops = RecordingOps::wrap(lent.message_ops, applied.clone());
    }
    let state = lent.state.clone();
    let started = dispatch::start(function, message, trace, lent, cancellation.clone());
    let (result, lock_lost) = match started.future {
        Err(rejection) => (InvocationResult::Rejected(rejection), None),
        Ok(future) => {
            let (output, lock_lost) = holder
                .drive_handler(future, token, metrics, &cancellation)
                .await;
            let result = fail_if_state_outlived(outcome_of(output), state.as_deref());
            (result, lock_lost)
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

fn outcome_of(output: <CatchPanic<Outcome> as Future>::Output) -> InvocationResult {
    match output {
        Ok(outcome) => InvocationResult::Returned(outcome),
        Err(panic) => InvocationResult::Panicked(panic),
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

/// What went wrong in a run, for the report: the error, the panic, or the rejection.
fn error_text(result: &InvocationResult) -> Option<String> {
    match result {
        InvocationResult::Rejected(rejection) => {
            Some(format!("{}: {}", rejection.reason, rejection.description))
        }
        InvocationResult::Returned(Outcome::Failed(_)) | InvocationResult::Panicked(_) => {
            Some(failure_text(result))
        }
        InvocationResult::Returned(_) => None,
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
