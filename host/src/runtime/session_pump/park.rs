//! Parking: while its session is quiet a pump gives its slot back to the acceptor (see
//! `acceptor::slots`), and takes one again — renewing the session lock while it waits —
//! before it hands the next message to a function.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::lock::sleep_until;
use super::{Pump, SessionEnd, SessionSummary};
use crate::runtime::source::SourceSession;

/// How long a session may show no message before it parks. Messages already in a session
/// arrive within a round trip; longer than that means the session has nothing right now.
pub(super) const PARK_AFTER: Duration = Duration::from_millis(50);

/// Resolves when a parked session is evicted; never when it is not parked.
pub(super) async fn evicted(token: &Option<CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}

impl<S: SourceSession> Pump<S> {
    /// Gives the slot back; the token fires if the session is evicted while parked.
    pub(super) fn park(&mut self) -> Option<CancellationToken> {
        let slot = self.slot.as_mut()?;
        debug!("session parked: no message yet; its slot is free for another session");
        Some(slot.park())
    }

    /// Takes a slot again (when parked), renewing the session lock while waiting for one.
    pub(super) async fn unpark(&mut self) -> Result<(), SessionEnd> {
        let Some(mut slot) = self.slot.take() else {
            return Ok(());
        };
        let result = loop {
            if !slot.is_parked() {
                break Ok(());
            }
            let renew_at = self.renewal.next;
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => break Err(SessionEnd::Shutdown),
                () = slot.unpark() => break Ok(()),
                () = sleep_until(renew_at), if renew_at.is_some() => {
                    if let Err(end) = self.renew().await {
                        break Err(end);
                    }
                }
            }
        };
        self.slot = Some(slot);
        result
    }

    /// Releases a session that stopped before it got a slot (no hook ran, no message was
    /// taken).
    pub(super) async fn release_unopened(self, end: SessionEnd) -> SessionSummary {
        debug!(reason = ?end, "session released before it got a slot");
        let session_id = self.session_id.to_string();
        self.session.release().await;
        SessionSummary {
            session_id,
            invocations: 0,
            unrouted: 0,
            end,
        }
    }
}
