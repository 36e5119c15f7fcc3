//! Accepting only the group's `session_ids` (one instance owns its own sessions, as the
//! gateway pattern needs): the acceptor cycles through the ids, accepting each one that no
//! pump of this trigger holds, whether or not it has messages. A session's pump releases
//! it after `session_idle_timeout` without a message, as usual, and the id is accepted again
//! on its next turn. A session locked by another receiver is tried again later, with a
//! backoff of its own.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use berth::ErrorKind;
use tokio::task::{Id, JoinError, JoinSet};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::{collect, mismatch, Backoff, Slots};
use crate::runtime::router::EntityGroup;
use crate::runtime::session_pump::{self, sleep_until, SessionEnd, SessionSummary};
use crate::runtime::source::SessionSource;

/// One listed session id and where it stands.
struct Wanted {
    id: String,
    /// A pump of this trigger holds it.
    held: bool,
    /// Not to be tried before then (after a refusal or a failure).
    retry_at: Option<Instant>,
    backoff: Backoff,
}

/// The listed ids, tried in turn.
struct Rotation {
    wanted: Vec<Wanted>,
    /// Where the next search starts, so every id gets its turn.
    cursor: usize,
    /// Which id each running pump holds.
    running: HashMap<Id, usize>,
}

impl Rotation {
    fn new(ids: &[String]) -> Self {
        let mut wanted: Vec<Wanted> = Vec::with_capacity(ids.len());
        for id in ids {
            if !wanted.iter().any(|w| &w.id == id) {
                wanted.push(Wanted {
                    id: id.clone(),
                    held: false,
                    retry_at: None,
                    backoff: Backoff::default(),
                });
            }
        }
        Rotation {
            wanted,
            cursor: 0,
            running: HashMap::new(),
        }
    }

    /// The next id, from the cursor on, that is free and due.
    fn next_due(&mut self, now: Instant) -> Option<usize> {
        let n = self.wanted.len();
        let found = (0..n).map(|k| (self.cursor + k) % n).find(|&i| {
            let w = &self.wanted[i];
            !w.held && w.retry_at.is_none_or(|at| at <= now)
        })?;
        self.cursor = (found + 1) % n;
        Some(found)
    }

    /// When the earliest id that waits for its retry time is due.
    fn next_retry(&self) -> Option<Instant> {
        self.wanted
            .iter()
            .filter(|w| !w.held)
            .filter_map(|w| w.retry_at)
            .min()
    }

    /// Tries `index` again after its backoff.
    fn defer(&mut self, index: usize) -> u64 {
        let wanted = &mut self.wanted[index];
        let delay = wanted.backoff.next_delay();
        wanted.retry_at = Some(Instant::now() + delay);
        delay.as_millis() as u64
    }

    /// Frees the id of a finished pump: due at once after a normal end, after its backoff
    /// when the broker or the opened hook failed.
    fn finished(&mut self, task: Id, end: Option<&SessionEnd>) {
        let Some(index) = self.running.remove(&task) else {
            return;
        };
        self.wanted[index].held = false;
        match end {
            Some(SessionEnd::Failed(_) | SessionEnd::OpenHookFailed(_)) | None => {
                self.defer(index);
            }
            Some(_) => {
                let wanted = &mut self.wanted[index];
                wanted.retry_at = None;
                wanted.backoff.reset();
            }
        }
    }
}

/// Accepts the group's listed sessions until `shutdown` fires (or the source closes), then
/// waits for every pump to finish and release its session.
pub(super) async fn accept_loop<S: SessionSource>(
    group: Arc<EntityGroup>,
    source: Arc<S>,
    shutdown: CancellationToken,
    keep_summary: &mut (dyn FnMut(SessionSummary) + Send),
) {
    let slots = Slots::new(group.settings.max_concurrent_sessions);
    let mut rotation = Rotation::new(&group.session_ids);
    let mut pumps = JoinSet::new();
    info!(
        session_ids = ?group.session_ids,
        max_concurrent_sessions = group.settings.max_concurrent_sessions,
        "accepting the listed sessions"
    );
    'accepting: loop {
        let Some(permit) = slots.acquire(&shutdown).await else {
            break;
        };
        let index = loop {
            while let Some(finished) = pumps.try_join_next_with_id() {
                keep(finished, &mut rotation, keep_summary);
            }
            if let Some(index) = rotation.next_due(Instant::now()) {
                break index;
            }
            let retry_at = rotation.next_retry();
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break 'accepting,
                Some(finished) = pumps.join_next_with_id() => {
                    keep(finished, &mut rotation, keep_summary);
                }
                _ = sleep_until(retry_at), if retry_at.is_some() => {}
            }
        };
        let session_id = rotation.wanted[index].id.clone();
        let accepted = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            accepted = source.accept_session(&session_id) => accepted,
        };
        match accepted {
            Ok(Some(session)) => {
                let (group, shutdown) = (group.clone(), shutdown.clone());
                let task = pumps.spawn(async move {
                    let summary = session_pump::run_group(group, session, shutdown).await;
                    drop(permit);
                    summary
                });
                rotation.wanted[index].held = true;
                rotation.running.insert(task.id(), index);
            }
            Ok(None) => {
                info!("the session source closed");
                break;
            }
            Err(e) if e.kind == ErrorKind::SessionCannotBeLocked => {
                let retry_in_ms = rotation.defer(index);
                debug!(%session_id, retry_in_ms, "the session is locked by another receiver; trying it again later");
            }
            Err(e) if mismatch::is_fatal(&group, &e) => break,
            Err(e) => {
                let retry_in_ms = rotation.defer(index);
                warn!(%session_id, error = %e, retry_in_ms, "accepting the session failed");
            }
        }
    }
    while let Some(finished) = pumps.join_next_with_id().await {
        keep(finished, &mut rotation, keep_summary);
    }
}

/// Hands a finished pump's summary on and frees its session id.
fn keep(
    finished: Result<(Id, SessionSummary), JoinError>,
    rotation: &mut Rotation,
    keep_summary: &mut (dyn FnMut(SessionSummary) + Send),
) {
    let (task, summary) = match finished {
        Ok((task, summary)) => (task, Ok(summary)),
        Err(e) => (e.id(), Err(e)),
    };
    let end = collect(summary, keep_summary);
    rotation.finished(task, end.as_ref());
}
