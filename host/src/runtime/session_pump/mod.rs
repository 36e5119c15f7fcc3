//! One session: receive → route → dispatch → settle, strictly one message at a time,
//! renewing the session lock, until the session goes idle, the host shuts down, or the lock
//! is lost. Around it, the group's session hooks: `session_opened` after the accept, before
//! the first message; `session_closing` before the release.
//!
//! `invoke` routes one message and holds it through the shared invocation pipeline; `lock`
//! serves the requests of whatever runs (handler or hook) and keeps the lock renewed;
//! `hooks` calls the hooks; `park` gives the slot back while the session is quiet.

mod hooks;
mod invoke;
mod lock;
mod park;

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use berth::host::HookKind;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use super::acceptor::Slot;
use super::function::FunctionSpec;
use super::requests::{PumpHandle, Request};
use super::router::EntityGroup;
use super::source::{Received, SourceSession};
use lock::{end_for, Renewal};

pub(crate) use lock::sleep_until;

/// Why a session pump stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// No message arrived within `session_idle_timeout` (or, parked, the session made room
    /// for a newly accepted one); the session was released.
    Idle,
    /// The host is shutting down; the session was released.
    Shutdown,
    /// The session lock was lost; the broker will hand the session out again.
    LockLost,
    /// Too little of the session lock was left to run the next message, and
    /// `max_auto_lock_renewal_duration` did not allow renewing it; the session was released
    /// with the message unprocessed.
    LockExpiring,
    /// The session had its share (`max_messages_per_session` or
    /// `release_after_each_message`) and was released so others get a turn.
    Rotated,
    /// The broker failed; the session was released where possible.
    Failed(String),
    /// The `session_opened` hook failed (the error's text); the session was released
    /// without processing any message, to be accepted again later.
    OpenHookFailed(String),
}

/// What one session pump did.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// Invocations run (one per message handed to a function, retries not counted).
    pub invocations: u64,
    /// Messages dead-lettered because no function handles their message type.
    pub unrouted: u64,
    /// Why it stopped.
    pub end: SessionEnd,
}

/// Runs one accepted session of a single function to its end.
pub async fn run<S: SourceSession>(
    function: Arc<FunctionSpec>,
    session: S,
    shutdown: CancellationToken,
) -> SessionSummary {
    run_group(Arc::new(EntityGroup::single(function)), session, shutdown).await
}

/// Runs one accepted session of an entity group to its end.
pub async fn run_group<S: SourceSession>(
    group: Arc<EntityGroup>,
    session: S,
    shutdown: CancellationToken,
) -> SessionSummary {
    run_with_slot(group, session, shutdown, None).await
}

/// Runs one accepted session holding one of the acceptor's slots, which it gives back while
/// the session is quiet (see `acceptor::slots`).
pub(crate) async fn run_parkable<S: SourceSession>(
    group: Arc<EntityGroup>,
    session: S,
    shutdown: CancellationToken,
    slot: Slot,
) -> SessionSummary {
    run_with_slot(group, session, shutdown, Some(slot)).await
}

async fn run_with_slot<S: SourceSession>(
    group: Arc<EntityGroup>,
    session: S,
    shutdown: CancellationToken,
    slot: Option<Slot>,
) -> SessionSummary {
    let session_id: Arc<str> = Arc::from(session.session_id());
    let span = info_span!(
        "session",
        function = %group.name,
        session_id = %session_id,
        entity = %group.entity.path(),
    );
    let mut pump = Pump::new(group, session, session_id, shutdown);
    pump.slot = slot;
    pump.run().instrument(span).await
}

struct Pump<S> {
    group: Arc<EntityGroup>,
    session: S,
    session_id: Arc<str>,
    shutdown: CancellationToken,
    renewal: Renewal,
    locked_until: Arc<Mutex<Option<SystemTime>>>,
    handle: PumpHandle,
    requests: mpsc::Receiver<Request>,
    /// Messages taken from the session (routed or not), for rotation.
    messages: u64,
    invocations: u64,
    unrouted: u64,
    /// The typed session state as last loaded or written (`None`: no function takes
    /// `SessionState`).
    state: Option<Option<Bytes>>,
    /// The acceptor's slot, when the session was accepted by one that parks.
    slot: Option<Slot>,
}

// `Received` is moved once per message; boxing it would allocate per message.
#[allow(clippy::large_enum_variant)]
enum Next {
    Message(Received),
    End(SessionEnd),
}

impl<S: SourceSession> Pump<S> {
    fn new(
        group: Arc<EntityGroup>,
        session: S,
        session_id: Arc<str>,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, requests) = mpsc::channel(16);
        let locked_until = Arc::new(Mutex::new(session.locked_until()));
        let renewal = Renewal::new(
            group.settings.max_auto_lock_renewal_duration,
            session.locked_until(),
        );
        Pump {
            handle: PumpHandle::new(tx, locked_until.clone()),
            group,
            session,
            session_id,
            shutdown,
            renewal,
            locked_until,
            requests,
            messages: 0,
            invocations: 0,
            unrouted: 0,
            state: None,
            slot: None,
        }
    }

    async fn run(mut self) -> SessionSummary {
        info!("session accepted");
        let metrics = self.group.metrics.trigger.clone();
        metrics.session_accepted();
        // Accepted while every slot was taken: wait for one before anything runs.
        let summary = match self.unpark().await {
            Ok(()) => {
                let end = match self.open().await {
                    Ok(()) => self.process().await,
                    Err(end) => end,
                };
                self.close(end).await
            }
            Err(end) => self.release_unopened(end).await,
        };
        metrics.session_ended(summary.end == SessionEnd::LockLost);
        summary
    }

    /// Calls the `session_opened` hook, then loads the typed state when a function takes it
    /// (after the hook, so that state the hook wrote is seen).
    async fn open(&mut self) -> Result<(), SessionEnd> {
        self.call_hook(HookKind::Opened).await?;
        if self.group.needs_state() {
            match self.session.get_state().await {
                Ok(state) => self.state = Some(state),
                Err(e) => {
                    warn!(error = %e, "loading the session state failed");
                    return Err(end_for(&e));
                }
            }
        }
        Ok(())
    }

    /// Takes the session's messages one at a time until the session ends.
    async fn process(&mut self) -> SessionEnd {
        loop {
            let received = match self.next_message().await {
                Next::Message(received) => received,
                Next::End(end) => return end,
            };
            if let Some(end) = self.invoke(received).await {
                return end;
            }
            self.messages += 1;
            let settings = &self.group.settings;
            if settings.release_after_each_message
                || settings
                    .max_messages_per_session
                    .is_some_and(|max| self.messages >= u64::from(max))
            {
                return SessionEnd::Rotated;
            }
        }
    }

    /// Calls the `session_closing` hook (unless the lock was lost or the session never
    /// opened) and releases the session.
    async fn close(mut self, end: SessionEnd) -> SessionSummary {
        let invocations = self.invocations;
        match &end {
            SessionEnd::LockLost => warn!(invocations, "session lock lost; session abandoned"),
            SessionEnd::OpenHookFailed(_) => {
                self.session.release().await;
                warn!("the session_opened hook failed; session released unprocessed");
            }
            SessionEnd::Failed(reason) => {
                warn!(invocations, %reason, "session stopped by a broker error; releasing");
                let _ = self.call_hook(HookKind::Closing).await;
                self.session.release().await;
            }
            SessionEnd::Idle
            | SessionEnd::Shutdown
            | SessionEnd::Rotated
            | SessionEnd::LockExpiring => {
                let _ = self.call_hook(HookKind::Closing).await;
                self.session.release().await;
                info!(invocations, reason = ?end, "session released");
            }
        }
        SessionSummary {
            session_id: self.session_id.to_string(),
            invocations,
            unrouted: self.unrouted,
            end,
        }
    }

    /// Waits for the session's next message, renewing the lock meanwhile; the idle time is
    /// counted from the end of the last invocation. A session with a slot parks once no
    /// message has come for [`park::PARK_AFTER`], and takes a slot again before it returns a
    /// message.
    async fn next_message(&mut self) -> Next {
        let now = Instant::now();
        let idle_deadline = now + self.group.settings.session_idle_timeout;
        let mut park_at = self.slot.as_ref().map(|_| now + park::PARK_AFTER);
        let mut evicted = None;
        loop {
            let now = Instant::now();
            if now >= idle_deadline {
                return Next::End(SessionEnd::Idle);
            }
            if park_at.is_some_and(|at| at <= now) {
                park_at = None;
                evicted = self.park();
            }
            let mut wait = idle_deadline - now;
            if let Some(at) = park_at {
                wait = wait.min(at - now);
            }
            if let Some(at) = self.renewal.next {
                if at <= now {
                    if let Err(end) = self.renew().await {
                        return Next::End(end);
                    }
                    continue;
                }
                wait = wait.min(at - now);
            }
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Next::End(SessionEnd::Shutdown),
                _ = park::evicted(&evicted) => {
                    debug!("a parked session makes room for a newly accepted one");
                    return Next::End(SessionEnd::Idle);
                }
                received = self.session.receive(wait) => match received {
                    Ok(Some(received)) => {
                        return match self.unpark().await {
                            Ok(()) => Next::Message(received),
                            Err(end) => Next::End(end),
                        };
                    }
                    Ok(None) => continue,
                    Err(e) => return Next::End(end_for(&e)),
                },
            }
        }
    }
}
