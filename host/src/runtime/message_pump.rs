//! A non-session trigger: up to `max_concurrent_calls` workers, each receiving a message,
//! routing it to its function, dispatching it and settling it.

use std::sync::Arc;

use berth::host::{BoxFuture, MessageOps};
use berth::{ErrorKind, ServiceBusError, Settlement, TraceContext};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::acceptor::Backoff;
use super::dispatch::{self, InvocationResult};
use super::function::FunctionSpec;
use super::mismatch;
use super::router::EntityGroup;
use super::session_pump::log_result;
use super::settle::{self, Decision};
use super::source::{DeliveryToken, MessageSource, Received};
use crate::logging::invocation_span;
use crate::ops::metrics::{FunctionMetrics, GroupMetrics, SettlementKind};

/// Runs a non-session trigger of one function until `shutdown` fires or the source closes;
/// in-flight invocations finish and settle first. Returns the number of invocations.
pub async fn run<S: MessageSource>(
    function: Arc<FunctionSpec>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> u64 {
    run_group(Arc::new(EntityGroup::single(function)), source, shutdown).await
}

/// Runs the non-session trigger of an entity group (one receiver for its functions) as
/// [`run`] does; a message no function takes is dead-lettered.
pub async fn run_group<S: MessageSource>(
    group: Arc<EntityGroup>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> u64 {
    let span =
        info_span!("trigger", function = %group.name, entity = %group.entity, sessions = false);
    async move {
        let workers = group.settings.max_concurrent_calls.max(1);
        info!(max_concurrent_calls = workers, "receiving messages");
        let mut set = JoinSet::new();
        for _ in 0..workers {
            set.spawn(worker(group.clone(), source.clone(), shutdown.clone()));
        }
        let mut total = 0;
        while let Some(done) = set.join_next().await {
            total += done.unwrap_or(0);
        }
        total
    }
    .instrument(span)
    .await
}

async fn worker<S: MessageSource>(
    group: Arc<EntityGroup>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> u64 {
    let mut invocations = 0;
    let mut backoff = Backoff::default();
    loop {
        let received = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            received = source.receive() => received,
        };
        match received {
            Ok(Some(received)) => {
                backoff.reset();
                match group.route(&received.message) {
                    Ok(function) => {
                        invocations += 1;
                        invoke(function, &group.metrics, &source, received, &shutdown).await;
                    }
                    Err(rejection) => {
                        warn!(
                            message_id = received.message.message_id.as_deref().unwrap_or(""),
                            reason = rejection.reason,
                            description = %rejection.description,
                            "no function takes this message; dead-lettering it"
                        );
                        let settlement =
                            Settlement::dead_letter(rejection.reason, rejection.description);
                        if let Err(e) = source.settle(received.token, settlement).await {
                            warn!(error = %e, "dead-lettering the message failed; the broker will redeliver it");
                        }
                    }
                }
            }
            Ok(None) => break,
            Err(e) if mismatch::is_fatal(&group, &e) => break,
            Err(e) => {
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "receiving failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
    }
    invocations
}

async fn invoke<S: MessageSource>(
    function: &FunctionSpec,
    group_metrics: &GroupMetrics,
    source: &Arc<S>,
    received: Received,
    shutdown: &CancellationToken,
) {
    let Received { message, token } = received;
    let mut trace = TraceContext::for_properties(&message.application_properties);
    let span = invocation_span(
        function,
        message.session_id.as_deref(),
        &message,
        &mut trace,
        &dispatch::invocation_id(),
    );
    let metrics = group_metrics.function(&function.name);
    async move {
        let ops = Arc::new(DirectSettle {
            source: source.clone(),
            token,
            metrics: metrics.clone(),
        });
        let started = dispatch::start(
            function,
            message,
            trace,
            None,
            ops,
            shutdown.child_token(),
            None,
        );
        let result = match started.future {
            Err(rejection) => InvocationResult::Rejected(rejection),
            Ok(future) => match future.await {
                Ok(outcome) => InvocationResult::Returned(outcome),
                Err(panic) => InvocationResult::Panicked(panic),
            },
        };
        metrics.invoked(&result, started.started_at.elapsed());
        log_result(&result);
        let decision = settle::decide(
            &result,
            function.settings.auto_complete,
            started.actions.is_settled(),
        );
        let (name, settled) = match decision {
            Decision::Settle(settlement) => {
                let (name, kind) = (settlement.name(), SettlementKind::from(&settlement));
                let settled = source.settle(token, settlement).await;
                if settled.is_ok() {
                    metrics.settled(kind);
                }
                (name, settled)
            }
            Decision::SettledByHandler => ("by_handler", Ok(())),
        };
        if let Err(e) = &settled {
            if e.kind == ErrorKind::MessageLockLost {
                group_metrics.trigger.lock_lost();
            }
            warn!(error = %e, "settling the message failed; the broker will redeliver it");
        }
        info!(
            outcome = settle::outcome_name(&result),
            settlement = name,
            confirmed = settled.is_ok(),
            duration_ms = started.started_at.elapsed().as_millis() as u64,
            messaging.servicebus.disposition_status = name,
            "invocation completed"
        );
    }
    .instrument(span)
    .await
}

struct DirectSettle<S> {
    source: Arc<S>,
    token: DeliveryToken,
    metrics: FunctionMetrics,
}

impl<S: MessageSource> MessageOps for DirectSettle<S> {
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        let kind = SettlementKind::from(&settlement);
        Box::pin(async move {
            let settled = self.source.settle(self.token, settlement).await;
            if settled.is_ok() {
                self.metrics.settled(kind);
            }
            settled
        })
    }
}
