//! Runs every trigger of the host until shutdown, then drains them within
//! `shutdown_timeout`.

use std::future::Future;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// How the drain went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainReport {
    /// Triggers that stopped on their own within the timeout.
    pub drained: usize,
    /// Triggers still busy when the timeout ran out; their tasks were aborted and their
    /// in-flight messages are left to the broker (the locks expire and they are
    /// redelivered).
    pub aborted: usize,
    /// Triggers that stopped before shutdown was asked for — one that cannot work (its
    /// entity does not fit it) — which stopped the host. The process should exit non-zero.
    pub failed: usize,
}

/// The triggers of one host, running on the current runtime.
#[derive(Default)]
pub struct TriggerSet {
    tasks: JoinSet<()>,
}

impl TriggerSet {
    /// No triggers yet.
    pub fn new() -> Self {
        TriggerSet::default()
    }

    /// Starts a trigger (e.g. `acceptor::run(...)`), which must stop by itself once the
    /// shutdown token it was given fires.
    pub fn spawn<F>(&mut self, trigger: F)
    where
        F: Future + Send + 'static,
    {
        self.tasks.spawn(async move {
            trigger.await;
        });
    }

    /// How many triggers are running.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether no trigger is running.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Waits for `shutdown`, then gives the triggers `timeout` to finish their in-flight
    /// invocations and release their sessions; whatever is left is aborted. A trigger that
    /// stops by itself first has failed for good: it fires `shutdown`, so the whole host
    /// drains and stops.
    pub async fn run_until(
        mut self,
        shutdown: CancellationToken,
        timeout: Duration,
    ) -> DrainReport {
        let total = self.tasks.len();
        let mut drained = 0;
        let mut failed = 0;
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break,
                finished = self.tasks.join_next() => match finished {
                    Some(_) => {
                        drained += 1;
                        failed += 1;
                        warn!("a trigger stopped by itself; stopping the host");
                        shutdown.cancel();
                    }
                    None => return DrainReport { drained, aborted: 0, failed },
                },
            }
        }
        info!(
            triggers = total - drained,
            timeout_ms = timeout.as_millis() as u64,
            "draining in-flight invocations"
        );
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(_)) => drained += 1,
                Ok(None) => break,
                Err(_) => {
                    let aborted = self.tasks.len();
                    warn!(
                        aborted,
                        "shutdown_timeout ran out; aborting the rest (their messages are redelivered when the locks expire)"
                    );
                    self.tasks.shutdown().await;
                    return DrainReport {
                        drained,
                        aborted,
                        failed,
                    };
                }
            }
        }
        info!(drained, "all triggers stopped");
        DrainReport {
            drained,
            aborted: 0,
            failed,
        }
    }
}
