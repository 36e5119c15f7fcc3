//! Holding the session while something runs: serving the handler's (or hook's) requests,
//! renewing the lock halfway to its expiry, and telling a lost lock from other failures.

use std::future::Future;
use std::sync::PoisonError;
use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, ServiceBusError};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::{Pump, SessionEnd};
use crate::ops::metrics::{FunctionMetrics, SettlementKind};
use crate::runtime::requests::Request;
use crate::runtime::source::{DeliveryToken, SourceSession};

impl<S: SourceSession> Pump<S> {
    /// Runs `future` to its end, serving its requests and renewing the lock meanwhile;
    /// `current` is the message it may settle, if any. The flag is true when the lock was
    /// lost on the way (`cancellation` then fired, so the future can stop early).
    pub(super) async fn drive<F: Future + Unpin>(
        &mut self,
        mut future: F,
        current: Option<(DeliveryToken, &FunctionMetrics)>,
        cancellation: &CancellationToken,
    ) -> (F::Output, bool) {
        let mut lock_lost = false;
        loop {
            let renew_at = self.renewal.next;
            let expires_at = if renew_at.is_none() && !lock_lost {
                self.lock_expiry()
            } else {
                None
            };
            let lost_now = tokio::select! {
                biased;
                output = &mut future => return (output, lock_lost),
                Some(request) = self.requests.recv() => self.serve(request, current).await.is_err(),
                _ = sleep_until(renew_at), if renew_at.is_some() => self.renew().await.is_err(),
                _ = sleep_until(expires_at), if expires_at.is_some() => {
                    warn!("the session lock expired: max_auto_lock_renewal_duration is spent and the handler is still running");
                    true
                }
            };
            if lost_now && !lock_lost {
                lock_lost = true;
                cancellation.cancel();
            }
        }
    }

    /// Waits between retries, renewing the session lock; shutdown ends the wait early.
    pub(super) async fn wait_holding_lock(&mut self, delay: Duration) -> Result<(), SessionEnd> {
        let until = Instant::now() + delay;
        loop {
            let renew_at = self.renewal.next;
            let expires_at = if renew_at.is_none() {
                self.lock_expiry()
            } else {
                None
            };
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep_until(until.into()) => return Ok(()),
                _ = sleep_until(renew_at), if renew_at.is_some() => self.renew().await?,
                _ = sleep_until(expires_at), if expires_at.is_some() => {
                    warn!("the session lock expired while waiting to retry: max_auto_lock_renewal_duration is spent");
                    return Err(SessionEnd::LockLost);
                }
            }
        }
    }

    /// When the session lock runs out, as last known.
    fn lock_expiry(&self) -> Option<Instant> {
        let remaining = self.lock_remaining()?;
        Some(Instant::now() + remaining)
    }

    /// How much of the session lock is left, as last known (zero once expired).
    fn lock_remaining(&self) -> Option<Duration> {
        let until = (*self
            .locked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner))?;
        Some(until.duration_since(SystemTime::now()).unwrap_or_default())
    }

    /// Serves one request. `Err` means the session lock is lost.
    async fn serve(
        &mut self,
        request: Request,
        current: Option<(DeliveryToken, &FunctionMetrics)>,
    ) -> Result<(), ()> {
        let lost = match request {
            Request::Settle(token, settlement, reply) => {
                let result = match current.filter(|(t, _)| *t == token) {
                    Some((_, metrics)) => {
                        let kind = SettlementKind::from(&settlement);
                        let settled = self.session.settle(token, settlement).await;
                        if settled.is_ok() {
                            metrics.settled(kind);
                        }
                        settled
                    }
                    None => Err(ServiceBusError::new(
                        ErrorKind::AlreadySettled,
                        "that invocation has ended; its message was settled by the host",
                    )),
                };
                answer(reply, result)
            }
            Request::GetState(reply) => answer(reply, self.session.get_state().await),
            Request::SetState(state, reply) => answer(reply, self.session.set_state(state).await),
            Request::RenewLock(reply) => {
                let result = self.session.renew_lock().await;
                if let Ok(until) = result {
                    self.renewed(until);
                }
                answer(reply, result)
            }
        };
        if lost {
            Err(())
        } else {
            Ok(())
        }
    }

    /// Renews the lock now.
    pub(super) async fn renew(&mut self) -> Result<(), SessionEnd> {
        match self.session.renew_lock().await {
            Ok(until) => {
                self.renewed(until);
                Ok(())
            }
            Err(e) => {
                warn!(error = %e, "renewing the session lock failed");
                self.renewal.next = None;
                Err(end_for(&e))
            }
        }
    }

    fn renewed(&mut self, until: SystemTime) {
        self.group.metrics.trigger.lock_renewed(1);
        *self
            .locked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(until);
        self.renewal.schedule(Some(until));
    }
}

/// When to renew the session lock: halfway to its expiry, until the renewal budget
/// (`max_auto_lock_renewal_duration` from acceptance) is spent.
pub(super) struct Renewal {
    stop_at: Instant,
    pub(super) next: Option<Instant>,
    /// The longest time to expiry seen on a fresh lock (acceptance or renewal): the entity's
    /// lock duration, as far as the host can tell.
    lock_duration: Duration,
}

impl Renewal {
    pub(super) fn new(max: Duration, locked_until: Option<SystemTime>) -> Self {
        let mut renewal = Renewal {
            stop_at: Instant::now() + max,
            next: None,
            lock_duration: Duration::ZERO,
        };
        renewal.schedule(locked_until);
        renewal
    }

    fn schedule(&mut self, locked_until: Option<SystemTime>) {
        self.next = locked_until.and_then(|until| {
            let remaining = until.duration_since(SystemTime::now()).unwrap_or_default();
            self.lock_duration = self.lock_duration.max(remaining);
            let at = Instant::now() + remaining / 2;
            (at < self.stop_at).then_some(at)
        });
    }

    /// Whether the renewal budget still allows renewing.
    fn allowed(&self) -> bool {
        Instant::now() < self.stop_at
    }

    /// How much of the lock must be left for a handler to start without renewing first: a
    /// quarter of the lock duration, at most 30 s. It covers the time the handler and its
    /// settlement take to reach the broker and a clock that runs behind the broker's.
    fn guard(&self) -> Duration {
        (self.lock_duration / 4).min(MAX_GUARD)
    }
}

/// The most lock time [`Renewal::guard`] asks for.
const MAX_GUARD: Duration = Duration::from_secs(30);

impl<S: SourceSession> Pump<S> {
    /// Makes sure the session lock is held before a handler runs. The host may have been
    /// paused (a stopped process, a long pause, a suspended VM) after the message arrived:
    /// once the lock has expired, the broker may have handed the session to another host that
    /// has already processed later messages, so running this one would break the session's
    /// order. With less than [`Renewal::guard`] left, the lock is renewed first (a renewal the
    /// broker grants proves the lock is held); when that fails, or the renewal budget is
    /// spent and the lock is gone or nearly so, the handler is not run and the session ends.
    pub(super) async fn ensure_lock_held(&mut self) -> Result<(), SessionEnd> {
        let Some(remaining) = self.lock_remaining() else {
            return Ok(());
        };
        if remaining > self.renewal.guard() {
            return Ok(());
        }
        if self.renewal.allowed() {
            debug!(
                remaining_ms = remaining.as_millis() as u64,
                "renewing the session lock before invoking: too little of it is left"
            );
            return self.renew().await;
        }
        if remaining.is_zero() {
            warn!(
                "the session lock expired before the message reached its function (was the host paused?); \
                 not invoking it: the broker hands the session out again"
            );
            Err(SessionEnd::LockLost)
        } else {
            warn!(
                remaining_ms = remaining.as_millis() as u64,
                "the session lock is about to expire and max_auto_lock_renewal_duration is spent; \
                 releasing the session instead of invoking"
            );
            Err(SessionEnd::LockExpiring)
        }
    }
}

/// Sleeps until `at`, or forever when there is nothing to wait for.
pub(crate) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

/// Sends the result to the requester; true when it says the session lock is lost.
fn answer<T>(
    reply: oneshot::Sender<Result<T, ServiceBusError>>,
    result: Result<T, ServiceBusError>,
) -> bool {
    let lost = matches!(&result, Err(e) if e.kind == ErrorKind::SessionLockLost);
    let _ = reply.send(result);
    lost
}

/// How a failed session operation ends the session.
pub(super) fn end_for(error: &ServiceBusError) -> SessionEnd {
    if error.kind == ErrorKind::SessionLockLost {
        SessionEnd::LockLost
    } else {
        SessionEnd::Failed(error.to_string())
    }
}
