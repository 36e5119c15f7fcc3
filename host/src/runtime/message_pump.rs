//! A non-session trigger: up to `max_concurrent_calls` workers, each receiving a message,
//! routing it to its function and running it through the invocation pipeline
//! ([`super::invoke`]: retry, poison policy, settlement), as the session pump does.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth::host::StateSlot;
use berth::host::{BoxFuture, MessageOps};
use berth::{ErrorKind, ServiceBusError, Settlement, TraceContext};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, info_span, warn, Instrument};

use super::dispatch;
use super::function::FunctionSpec;
use super::invoke::{self, Holder, Lent};
use super::mismatch;
use super::observe::{InvocationReport, Observer};
use super::router::EntityGroup;
use super::source::{DeliveryToken, MessageSource, Received};
use crate::backoff::Backoff;
use crate::logging::invocation_span;
use crate::ops::metrics::{FunctionMetrics, SettlementKind};

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
                        invoke(function, &group, &source, received, &shutdown).await;
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
                        let report = group.observer.is_attached().then(|| {
                            let entity = group.entity.path();
                            InvocationReport::unrouted(
                                entity,
                                &received.message,
                                settlement.clone(),
                            )
                        });
                        let settled = source.settle(received.token, settlement).await;
                        if let Some(report) = report {
                            group.observer.report(&report.settled(&settled));
                        }
                        if let Err(e) = settled {
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
    group: &EntityGroup,
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
    let metrics = group.metrics.function(&function.name).clone();
    let mut held = Held {
        source,
        shutdown,
        group,
    };
    async move {
        let Ok(settled) =
            invoke::invoke(&mut held, function, &metrics, message, trace, token).await;
        if let Err(e) = &settled {
            if e.kind == ErrorKind::MessageLockLost {
                group.metrics.trigger.lock_lost();
            }
            warn!(error = %e, "settling the message failed; the broker will redeliver it");
        }
    }
    .instrument(span)
    .await
}

/// A non-session worker holds its message: the receiver renews the message's lock, the
/// handler settles on the receiver directly, and nothing stops the invocation before it
/// settles.
struct Held<'a, S> {
    source: &'a Arc<S>,
    shutdown: &'a CancellationToken,
    group: &'a EntityGroup,
}

impl<S: MessageSource> Holder for Held<'_, S> {
    type Stop = Infallible;

    fn shutdown(&self) -> &CancellationToken {
        self.shutdown
    }

    fn observer(&self) -> &Observer {
        &self.group.observer
    }

    fn lend(&mut self, token: DeliveryToken, metrics: &FunctionMetrics) -> Lent {
        Lent {
            session: None,
            message_ops: Arc::new(DirectSettle {
                source: self.source.clone(),
                token,
                metrics: metrics.clone(),
            }),
            state: None,
            app_state: self.group.app_state.clone(),
        }
    }

    async fn ready(&mut self, _attempt: u32) -> Result<(), Infallible> {
        Ok(())
    }

    async fn drive_handler<F>(
        &mut self,
        future: F,
        _token: DeliveryToken,
        _metrics: &FunctionMetrics,
        _cancellation: &CancellationToken,
    ) -> (F::Output, Option<Infallible>)
    where
        F: Future + Unpin + Send,
        F::Output: Send,
    {
        (future.await, None)
    }

    /// Waits out the retry delay; shutdown cuts it short (the last attempt then settles).
    async fn wait(&mut self, delay: Duration) -> Result<(), Infallible> {
        tokio::select! {
            _ = self.shutdown.cancelled() => {}
            _ = tokio::time::sleep(delay) => {}
        }
        Ok(())
    }

    async fn write_back(&mut self, _slot: &StateSlot) -> Result<Option<Settlement>, Infallible> {
        Ok(None)
    }

    async fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        self.source.settle(token, settlement).await
    }
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
