//! Accepts sessions for one session trigger, at most `max_concurrent_sessions` at a time,
//! and gives each to its own pump.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument};

use super::function::FunctionSpec;
use super::session_pump::{self, SessionSummary};
use super::source::SessionSource;

/// Runs a session trigger until `shutdown` fires (or the source closes), then waits for
/// every session pump to finish its in-flight invocation and release its session.
pub async fn run<S: SessionSource>(
    function: Arc<FunctionSpec>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> Vec<SessionSummary> {
    let span = info_span!(
        "trigger",
        function = %function.name,
        entity = %function.entity,
        sessions = true,
    );
    accept_loop(function, source, shutdown)
        .instrument(span)
        .await
}

async fn accept_loop<S: SessionSource>(
    function: Arc<FunctionSpec>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> Vec<SessionSummary> {
    let slots = Arc::new(Semaphore::new(
        function.settings.max_concurrent_sessions.max(1) as usize,
    ));
    let mut pumps = JoinSet::new();
    let mut summaries = Vec::new();
    let mut backoff = Backoff::default();
    info!(
        max_concurrent_sessions = function.settings.max_concurrent_sessions,
        "accepting sessions"
    );
    loop {
        let permit = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = source.accept_next() => accepted,
        };
        match accepted {
            Ok(Some(session)) => {
                backoff.reset();
                let function = function.clone();
                let shutdown = shutdown.clone();
                pumps.spawn(async move {
                    let summary = session_pump::run(function, session, shutdown).await;
                    drop(permit);
                    summary
                });
            }
            Ok(None) => {
                info!("the session source closed");
                break;
            }
            Err(e) => {
                let delay = backoff.next_delay();
                warn!(error = %e, retry_in_ms = delay.as_millis() as u64, "accepting a session failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
        while let Some(finished) = pumps.try_join_next() {
            collect(finished, &mut summaries);
        }
    }
    while let Some(finished) = pumps.join_next().await {
        collect(finished, &mut summaries);
    }
    summaries
}

fn collect(
    finished: Result<SessionSummary, tokio::task::JoinError>,
    summaries: &mut Vec<SessionSummary>,
) {
    match finished {
        Ok(summary) => summaries.push(summary),
        Err(e) if e.is_cancelled() => {}
        Err(e) => error!(error = %e, "a session pump failed"),
    }
}

/// Exponential backoff with jitter: 100 ms doubling up to 30 s.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = 100u64
            .saturating_mul(1u64 << self.attempt.min(9))
            .min(30_000);
        self.attempt = self.attempt.saturating_add(1);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        let jitter = nanos % (base / 2 + 1);
        Duration::from_millis(base / 2 + jitter)
    }
}
