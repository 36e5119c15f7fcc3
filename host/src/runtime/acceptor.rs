//! Accepts sessions for one session trigger (an entity group), at most
//! `max_concurrent_sessions` at a time, and gives each to its own pump: the next available
//! session, or, when the group lists `session_ids`, only those (`by_id`).

mod backoff;
mod by_id;
mod slots;

use std::sync::Arc;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument};

use super::function::FunctionSpec;
use super::mismatch;
use super::router::EntityGroup;
use super::session_pump::{self, SessionEnd, SessionSummary};
use super::source::SessionSource;
use backoff::AcceptRetry;
pub(crate) use backoff::Backoff;
pub(crate) use slots::Slot;
use slots::Slots;

/// Runs a session trigger of one function until `shutdown` fires (or the source closes),
/// then waits for every session pump to finish its in-flight invocation and release its
/// session.
pub async fn run<S: SessionSource>(
    function: Arc<FunctionSpec>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> Vec<SessionSummary> {
    run_group(Arc::new(EntityGroup::single(function)), source, shutdown).await
}

/// Runs the session trigger of an entity group (one receiver for its functions) as
/// [`run`] does; with `session_ids`, only those sessions are accepted.
pub async fn run_group<S: SessionSource>(
    group: Arc<EntityGroup>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> Vec<SessionSummary> {
    let span = info_span!(
        "trigger",
        function = %group.name,
        entity = %group.entity,
        sessions = true,
    );
    if group.session_ids.is_empty() {
        accept_loop(group, source, shutdown).instrument(span).await
    } else {
        by_id::accept_loop(group, source, shutdown)
            .instrument(span)
            .await
    }
}

async fn accept_loop<S: SessionSource>(
    group: Arc<EntityGroup>,
    source: Arc<S>,
    shutdown: CancellationToken,
) -> Vec<SessionSummary> {
    let slots = Slots::new(group.settings.max_concurrent_sessions);
    let mut pumps = JoinSet::new();
    let mut summaries = Vec::new();
    let mut retry = AcceptRetry::default();
    let mut hook_backoff = Backoff::default();
    info!(
        max_concurrent_sessions = group.settings.max_concurrent_sessions,
        "accepting sessions"
    );
    loop {
        let Some(permit) = slots.acquire(&shutdown).await else {
            break;
        };
        let mut permit = Some(permit);
        let accept = source.accept_next();
        tokio::pin!(accept);
        let accepted = loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break None,
                // A parked session has a message and no slot is free: it gets this one; the
                // session being accepted waits for a slot of its own.
                _ = slots.wanted(), if permit.is_some() => permit = None,
                accepted = &mut accept => break Some(accepted),
            }
        };
        let Some(accepted) = accepted else {
            break;
        };
        match accepted {
            Ok(Some(session)) => {
                retry.accepted();
                let slot = Slot::new(slots.clone(), permit);
                pumps.spawn(session_pump::run_parkable(
                    group.clone(),
                    session,
                    shutdown.clone(),
                    slot,
                ));
                slots.evict_over_limit();
            }
            Ok(None) => {
                info!("the session source closed");
                break;
            }
            Err(e) if mismatch::is_fatal(&group, &e) => break,
            Err(e) => {
                let (attempt, delay) = retry.failed(source.working_accepts());
                warn!(error = %e, attempt, retry_in_ms = delay.as_millis() as u64, "accepting a session failed");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(delay) => {}
                }
            }
        }
        let mut hook_failed = false;
        while let Some(finished) = pumps.try_join_next() {
            match collect(finished, &mut summaries) {
                Some(SessionEnd::OpenHookFailed(_)) => hook_failed = true,
                Some(_) => hook_backoff.reset(),
                None => {}
            }
        }
        if hook_failed {
            // The session is free again and accept-next would hand it straight back.
            let delay = hook_backoff.next_delay();
            info!(
                retry_in_ms = delay.as_millis() as u64,
                "a session_opened hook failed; waiting before accepting again"
            );
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(delay) => {}
            }
        }
    }
    while let Some(finished) = pumps.join_next().await {
        collect(finished, &mut summaries);
    }
    summaries
}

/// Keeps a finished pump's summary; returns how its session ended.
fn collect(
    finished: Result<SessionSummary, tokio::task::JoinError>,
    summaries: &mut Vec<SessionSummary>,
) -> Option<&SessionEnd> {
    match finished {
        Ok(summary) => {
            summaries.push(summary);
            summaries.last().map(|s| &s.end)
        }
        Err(e) if e.is_cancelled() => None,
        Err(e) => {
            error!(error = %e, "a session pump failed");
            None
        }
    }
}
