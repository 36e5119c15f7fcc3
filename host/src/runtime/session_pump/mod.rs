//! One session: receive → dispatch → settle, strictly one message at a time, renewing the
//! session lock, until the session goes idle, the host shuts down, or the lock is lost.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, ServiceBusError, Settlement, StateSlot, MAX_SESSION_STATE_BYTES};
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, info_span, warn, Instrument};

use super::dispatch::{self, InvocationResult};
use super::function::{FunctionSpec, PoisonPolicy};
use super::requests::{PumpHandle, Request};
use super::settle::{self, Decision};
use super::source::{DeliveryToken, Received, SourceSession};

/// Why a session pump stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionEnd {
    /// No message arrived within `session_idle_timeout`; the session was released.
    Idle,
    /// The host is shutting down; the session was released.
    Shutdown,
    /// The session lock was lost; the broker will hand the session out again.
    LockLost,
    /// The session had its share (`max_messages_per_session` or
    /// `release_after_each_message`) and was released so others get a turn.
    Rotated,
    /// The broker failed; the session was released where possible.
    Failed(String),
}

/// What one session pump did.
#[derive(Debug, Clone)]
pub struct SessionSummary {
    /// The session id.
    pub session_id: String,
    /// Invocations run.
    pub invocations: u64,
    /// Why it stopped.
    pub end: SessionEnd,
}

/// Runs one accepted session to its end.
pub async fn run<S: SourceSession>(
    function: Arc<FunctionSpec>,
    session: S,
    shutdown: CancellationToken,
) -> SessionSummary {
    let session_id: Arc<str> = Arc::from(session.session_id());
    let span = info_span!(
        "session",
        function = %function.name,
        session_id = %session_id,
        messaging.system = "servicebus",
        messaging.destination.name = %function.entity.path(),
    );
    let pump = Pump::new(function, session, session_id, shutdown);
    pump.run().instrument(span).await
}

/// One run of the handler.
struct Attempt {
    result: InvocationResult,
    state: Option<Arc<StateSlot>>,
    settled_by_handler: bool,
    lock_lost: bool,
    elapsed: Duration,
}

struct Pump<S> {
    function: Arc<FunctionSpec>,
    session: S,
    session_id: Arc<str>,
    shutdown: CancellationToken,
    renewal: Renewal,
    locked_until: Arc<Mutex<Option<SystemTime>>>,
    handle: PumpHandle,
    requests: mpsc::Receiver<Request>,
    invocations: u64,
    /// The typed session state as last loaded or written (`None`: the handler does not
    /// take `SessionState`).
    state: Option<Option<Bytes>>,
}

// `Received` is moved once per message; boxing it would allocate per message.
#[allow(clippy::large_enum_variant)]
enum Next {
    Message(Received),
    End(SessionEnd),
}

impl<S: SourceSession> Pump<S> {
    fn new(
        function: Arc<FunctionSpec>,
        session: S,
        session_id: Arc<str>,
        shutdown: CancellationToken,
    ) -> Self {
        let (tx, requests) = mpsc::channel(16);
        let locked_until = Arc::new(Mutex::new(session.locked_until()));
        let renewal = Renewal::new(
            function.settings.max_auto_lock_renewal_duration,
            session.locked_until(),
        );
        Pump {
            handle: PumpHandle::new(tx, locked_until.clone()),
            function,
            session,
            session_id,
            shutdown,
            renewal,
            locked_until,
            requests,
            invocations: 0,
            state: None,
        }
    }

    async fn run(mut self) -> SessionSummary {
        info!("session accepted");
        if self.function.handler.needs_state() {
            match self.session.get_state().await {
                Ok(state) => self.state = Some(state),
                Err(e) => {
                    let end = end_for(&e);
                    warn!(error = %e, "loading the session state failed");
                    if end != SessionEnd::LockLost {
                        self.session.release().await;
                    }
                    return SessionSummary {
                        session_id: self.session_id.to_string(),
                        invocations: 0,
                        end,
                    };
                }
            }
        }
        let end = loop {
            let received = match self.next_message().await {
                Next::Message(received) => received,
                Next::End(end) => break end,
            };
            if let Some(end) = self.invoke(received).await {
                break end;
            }
            let settings = &self.function.settings;
            if settings.release_after_each_message
                || settings
                    .max_messages_per_session
                    .is_some_and(|max| self.invocations >= u64::from(max))
            {
                break SessionEnd::Rotated;
            }
        };
        let session_id = self.session_id.to_string();
        let invocations = self.invocations;
        match &end {
            SessionEnd::LockLost => warn!(invocations, "session lock lost; session abandoned"),
            SessionEnd::Failed(reason) => {
                warn!(invocations, %reason, "session stopped by a broker error; releasing");
                self.session.release().await;
            }
            SessionEnd::Idle | SessionEnd::Shutdown | SessionEnd::Rotated => {
                self.session.release().await;
                info!(invocations, reason = ?end, "session released");
            }
        }
        SessionSummary {
            session_id,
            invocations,
            end,
        }
    }

    /// Waits for the session's next message, renewing the lock meanwhile; the idle time is
    /// counted from the end of the last invocation.
    async fn next_message(&mut self) -> Next {
        let idle_deadline = Instant::now() + self.function.settings.session_idle_timeout;
        loop {
            let now = Instant::now();
            if now >= idle_deadline {
                return Next::End(SessionEnd::Idle);
            }
            let mut wait = idle_deadline - now;
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
                received = self.session.receive(wait) => match received {
                    Ok(Some(received)) => return Next::Message(received),
                    Ok(None) => continue,
                    Err(e) => return Next::End(end_for(&e)),
                },
            }
        }
    }

    /// Runs one invocation and settles its message. `Some(end)` stops the session.
    async fn invoke(&mut self, received: Received) -> Option<SessionEnd> {
        let Received { message, token } = received;
        self.invocations += 1;
        let span = info_span!(
            "invocation",
            function = %self.function.name,
            session_id = %self.session_id,
            message_id = message.message_id.as_deref().unwrap_or(""),
            delivery_count = message.delivery_count,
            sequence_number = message.sequence_number,
            invocation_id = %dispatch::invocation_id(),
            otel.kind = "consumer",
            messaging.operation = "process",
        );
        self.invoke_in(message, token).instrument(span).await
    }

    async fn invoke_in(
        &mut self,
        message: berth::Message,
        token: DeliveryToken,
    ) -> Option<SessionEnd> {
        let retry = self.function.settings.retry;
        let mut attempt = 1u32;
        let mut message = Some(message);
        let (result, settled_by_handler, elapsed, state) = loop {
            let current = match (&retry, message.take()) {
                (Some(_), Some(m)) => {
                    message = Some(m.clone());
                    m
                }
                (_, Some(m)) => m,
                (_, None) => return Some(SessionEnd::Failed("no message to retry".into())),
            };
            let attempt_result = self.attempt(current, token).await;
            log_result(&attempt_result.result);
            if attempt_result.lock_lost {
                error!(
                    duration_ms = attempt_result.elapsed.as_millis() as u64,
                    "session lock lost during the invocation; the message is not settled and will be redelivered"
                );
                return Some(SessionEnd::LockLost);
            }
            let failed = matches!(
                attempt_result.result,
                InvocationResult::Returned(berth::Outcome::Failed(_))
                    | InvocationResult::Panicked(_)
            );
            match retry {
                Some(policy)
                    if failed
                        && !attempt_result.settled_by_handler
                        && attempt < policy.max_attempts
                        && !self.shutdown.is_cancelled() =>
                {
                    let delay = policy.delay(attempt);
                    warn!(
                        attempt,
                        max_attempts = policy.max_attempts,
                        retry_in_ms = delay.as_millis() as u64,
                        "retrying inside the session lock"
                    );
                    if let Err(end) = self.wait_holding_lock(delay).await {
                        return Some(end);
                    }
                    attempt += 1;
                }
                _ => {
                    break (
                        attempt_result.result,
                        attempt_result.settled_by_handler,
                        attempt_result.elapsed,
                        attempt_result.state,
                    )
                }
            }
        };
        let mut decision = settle::decide(
            &result,
            self.function.settings.auto_complete,
            settled_by_handler,
        );
        if let (Some(policy), Decision::Settle(Settlement::Abandon { .. })) = (&retry, &decision) {
            let failed_after_retries = matches!(
                result,
                InvocationResult::Returned(berth::Outcome::Failed(_))
                    | InvocationResult::Panicked(_)
            ) && !self.shutdown.is_cancelled();
            if failed_after_retries && self.function.settings.poison == PoisonPolicy::DeadLetter {
                decision = Decision::Settle(Settlement::dead_letter(
                    "MaxRetriesExceeded",
                    format!(
                        "the handler failed {attempt} of {} attempts; last error: {}",
                        policy.max_attempts,
                        failure_text(&result)
                    ),
                ));
            }
        }
        if let Some(slot) = state {
            match self.write_back_state(&slot, &result).await {
                Ok(None) => {}
                Ok(Some(failure)) => decision = Decision::Settle(failure),
                Err(end) => return Some(end),
            }
        }
        let settlement_name = match &decision {
            Decision::Settle(settlement) => settlement.name(),
            Decision::SettledByHandler => "by_handler",
        };
        if let (
            Decision::Settle(Settlement::Abandon { .. }),
            InvocationResult::Returned(berth::Outcome::Done),
        ) = (&decision, &result)
        {
            warn!("auto_complete is off and the handler did not settle the message; abandoning it");
        }
        let settled = match decision {
            Decision::Settle(settlement) => self.session.settle(token, settlement).await,
            Decision::SettledByHandler => Ok(()),
        };
        info!(
            outcome = settle::outcome_name(&result),
            settlement = settlement_name,
            attempts = attempt,
            duration_ms = elapsed.as_millis() as u64,
            "invocation completed"
        );
        match settled {
            Ok(()) => None,
            Err(e) => {
                error!(error = %e, "settling the message failed; stopping the session so its order is kept");
                Some(end_for(&e))
            }
        }
    }

    /// Writes the typed session state back after a successful invocation, before the message
    /// is settled. `Ok(Some(abandon))` when the new state cannot be stored (the message is
    /// abandoned instead of completed); `Err` when the session must stop.
    async fn write_back_state(
        &mut self,
        slot: &StateSlot,
        result: &InvocationResult,
    ) -> Result<Option<Settlement>, SessionEnd> {
        let succeeded = matches!(
            result,
            InvocationResult::Returned(berth::Outcome::Done | berth::Outcome::Settle(_))
        );
        let written = match slot.take_written() {
            Some(written) if succeeded => written,
            _ => return Ok(None),
        };
        let bytes = match written {
            Ok(bytes) if bytes.len() <= MAX_SESSION_STATE_BYTES => bytes,
            Ok(bytes) => {
                error!(
                    size = bytes.len(),
                    limit = MAX_SESSION_STATE_BYTES,
                    "the new session state is larger than Service Bus keeps; the state is not written and the message is abandoned"
                );
                return Ok(Some(Settlement::abandon()));
            }
            Err(reason) => {
                error!(%reason, "the message is abandoned");
                return Ok(Some(Settlement::abandon()));
            }
        };
        if self.state.as_ref().and_then(|s| s.as_ref()) == Some(&bytes) {
            return Ok(None);
        }
        match self.session.set_state(Some(bytes.clone())).await {
            Ok(()) => {
                self.state = Some(Some(bytes));
                Ok(None)
            }
            Err(e) => {
                error!(error = %e, "writing the session state failed; the message is not settled");
                Err(end_for(&e))
            }
        }
    }

    /// Runs the handler once, serving its requests and renewing the lock meanwhile.
    async fn attempt(&mut self, message: berth::Message, token: DeliveryToken) -> Attempt {
        let cancellation = self.shutdown.child_token();
        let state = self
            .state
            .as_ref()
            .map(|loaded| StateSlot::new(loaded.clone()));
        let ops: Arc<dyn berth::ops::SessionOps> = Arc::new(self.handle.clone());
        let started = dispatch::start(
            &self.function,
            message,
            Some((self.session_id.clone(), ops)),
            self.handle.message_ops(token),
            cancellation.clone(),
            state.clone(),
        );
        let mut lock_lost = false;
        let result = match started.future {
            Err(rejection) => InvocationResult::Rejected(rejection),
            Ok(mut future) => loop {
                let renew_at = self.renewal.next;
                tokio::select! {
                    biased;
                    output = &mut future => break match output {
                        Ok(outcome) => InvocationResult::Returned(outcome),
                        Err(panic) => InvocationResult::Panicked(panic),
                    },
                    Some(request) = self.requests.recv() => {
                        if self.serve(request, token).await.is_err() && !lock_lost {
                            lock_lost = true;
                            cancellation.cancel();
                        }
                    }
                    _ = sleep_until(renew_at), if renew_at.is_some() => {
                        if self.renew().await.is_err() && !lock_lost {
                            lock_lost = true;
                            cancellation.cancel();
                        }
                    }
                }
            },
        };
        Attempt {
            result,
            state,
            settled_by_handler: started.actions.is_settled(),
            lock_lost,
            elapsed: started.started_at.elapsed(),
        }
    }

    /// Waits between retries, renewing the session lock; shutdown ends the wait early.
    async fn wait_holding_lock(&mut self, delay: Duration) -> Result<(), SessionEnd> {
        let until = Instant::now() + delay;
        loop {
            let renew_at = self.renewal.next;
            tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => return Ok(()),
                _ = tokio::time::sleep_until(until.into()) => return Ok(()),
                _ = sleep_until(renew_at), if renew_at.is_some() => self.renew().await?,
            }
        }
    }

    /// Serves one request from the handler. `Err` means the session lock is lost.
    async fn serve(&mut self, request: Request, current: DeliveryToken) -> Result<(), ()> {
        let mut lost = false;
        match request {
            Request::Settle(token, settlement, reply) => {
                let result = if token == current {
                    self.session.settle(token, settlement).await
                } else {
                    Err(ServiceBusError::new(
                        ErrorKind::AlreadySettled,
                        "that invocation has ended; its message was settled by the host",
                    ))
                };
                lost |= is_lock_lost(&result);
                let _ = reply.send(result);
            }
            Request::GetState(reply) => {
                let result = self.session.get_state().await;
                lost |= is_lock_lost(&result);
                let _ = reply.send(result);
            }
            Request::SetState(state, reply) => {
                let result = self.session.set_state(state).await;
                lost |= is_lock_lost(&result);
                let _ = reply.send(result);
            }
            Request::RenewLock(reply) => {
                let result = self.session.renew_lock().await;
                if let Ok(until) = result {
                    self.renewed(until);
                }
                lost |= is_lock_lost(&result);
                let _ = reply.send(result);
            }
        }
        if lost {
            Err(())
        } else {
            Ok(())
        }
    }

    async fn renew(&mut self) -> Result<(), SessionEnd> {
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
        *self
            .locked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(until);
        self.renewal.schedule(Some(until));
    }
}

/// When to renew the session lock: halfway to its expiry, until the renewal budget
/// (`max_auto_lock_renewal_duration` from acceptance) is spent.
struct Renewal {
    stop_at: Instant,
    next: Option<Instant>,
}

impl Renewal {
    fn new(max: Duration, locked_until: Option<SystemTime>) -> Self {
        let mut renewal = Renewal {
            stop_at: Instant::now() + max,
            next: None,
        };
        renewal.schedule(locked_until);
        renewal
    }

    fn schedule(&mut self, locked_until: Option<SystemTime>) {
        self.next = locked_until.and_then(|until| {
            let remaining = until.duration_since(SystemTime::now()).unwrap_or_default();
            let at = Instant::now() + remaining / 2;
            (at < self.stop_at).then_some(at)
        });
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn is_lock_lost<T>(result: &Result<T, ServiceBusError>) -> bool {
    matches!(result, Err(e) if e.kind == ErrorKind::SessionLockLost)
}

fn end_for(error: &ServiceBusError) -> SessionEnd {
    if error.kind == ErrorKind::SessionLockLost {
        SessionEnd::LockLost
    } else {
        SessionEnd::Failed(error.to_string())
    }
}

fn failure_text(result: &InvocationResult) -> String {
    match result {
        InvocationResult::Returned(berth::Outcome::Failed(e)) => e.to_string(),
        InvocationResult::Panicked(panic) => format!("panic: {panic}"),
        _ => String::new(),
    }
}

pub(crate) fn log_result(result: &InvocationResult) {
    match result {
        InvocationResult::Rejected(rejection) => warn!(
            reason = rejection.reason,
            description = %rejection.description,
            "the message could not be turned into the handler's arguments; dead-lettering it"
        ),
        InvocationResult::Returned(berth::Outcome::Failed(e)) => {
            warn!(error = %e, "the handler returned an error")
        }
        InvocationResult::Panicked(panic) => error!(panic = %panic, "the handler panicked"),
        InvocationResult::Returned(_) => {}
    }
}
