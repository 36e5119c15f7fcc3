//! [`TestHost`]: a running app under test — send to it, wait until its messages are settled,
//! look at what its functions did and what is left in the broker, stop it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::Message;
use berth_emulator::broker::RunningBroker;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio::sync::watch;
use tokio::time::Instant;

use super::builder::TestHostBuilder;
use super::launch::{Launch, Run};
use super::record::{describe, Invocations};
use super::{TestError, TestMessage};
use crate::runtime::{DrainReport, InvocationReport};
use crate::servicebus::{Sender, ServiceBusClient};

/// How many messages one peek asks for.
const PEEK_PAGE: u32 = 100;

/// An app's functions running in the real host against an in-process broker, for a test.
///
/// Start it with [`TestHost::start`] (every registered function) or [`TestHost::builder`];
/// see [the module](super) for a whole test.
pub struct TestHost {
    pub(super) running: Running,
    next_id: AtomicU64,
    senders: Mutex<HashMap<String, Arc<Sender>>>,
}

/// What a started test host holds.
pub(super) struct Running {
    pub(super) broker: Option<RunningBroker>,
    pub(super) client: ServiceBusClient,
    pub(super) connection_string: String,
    pub(super) functions: Vec<String>,
    pub(super) seen: watch::Receiver<Vec<InvocationReport>>,
    /// How its hosts are started.
    pub(super) launch: Launch,
    /// The host running now (`None` once stopped).
    pub(super) run: Option<Run>,
    pub(super) timeout: Duration,
}

impl TestHost {
    /// Every registered (enabled) function, no state, default configuration.
    pub async fn start() -> Result<TestHost, TestError> {
        TestHost::builder().start().await
    }

    /// A builder: state, the functions to run, app settings, extra queues, the deadline.
    pub fn builder() -> TestHostBuilder {
        TestHostBuilder::default()
    }

    /// A builder that starts from the app's own [`HostBuilder`](crate::HostBuilder) — the
    /// one its `main` runs, with its state and state set-ups — so the test runs the app as
    /// it is deployed. The configuration, app settings and function selection are the test
    /// host's to set.
    ///
    /// ```no_run
    /// # mod my_app { pub fn host() -> berth_host::HostBuilder { berth_host::Host::builder() } }
    /// # async fn t() -> Result<(), berth_host::testing::TestError> {
    /// // src/lib.rs:  pub fn host() -> HostBuilder { Host::builder().state_with(…) }
    /// // src/main.rs: fn main() -> ExitCode { my_app::host().main() }
    /// let app = berth_host::testing::TestHost::with(my_app::host())
    ///     .setting("MaxSetpointKw", "50")
    ///     .start()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn with(host: crate::HostBuilder) -> TestHostBuilder {
        TestHostBuilder::from_host(host)
    }

    pub(super) fn new(running: Running) -> Self {
        TestHost {
            running,
            next_id: AtomicU64::new(1),
            senders: Mutex::new(HashMap::new()),
        }
    }

    /// The test broker's connection string (what every function's connection setting holds).
    pub fn connection_string(&self) -> &str {
        &self.running.connection_string
    }

    /// Sends `message` to the queue or topic `entity`, over AMQP as any client would, and
    /// waits until the broker accepted it. Returns its message id (one is given to a message
    /// without: `test-1`, `test-2`…).
    pub async fn send_to(
        &self,
        entity: &str,
        message: impl Into<TestMessage>,
    ) -> Result<String, TestError> {
        let message = message
            .into()
            .into_message(|| format!("test-{}", self.next_id.fetch_add(1, Ordering::Relaxed)))
            .map_err(|e| TestError::new(format!("sending to {entity}: {e}")))?;
        let id = message.message_id.clone().unwrap_or_default();
        self.sender(entity)
            .send(&message)
            .await
            .map_err(|e| TestError::new(format!("sending message {id} to {entity}: {e}")))?;
        Ok(id)
    }

    /// Sends `messages` to `entity` in order, as [`send_to`](Self::send_to) does; returns
    /// their ids.
    pub async fn send_all<I, M>(&self, entity: &str, messages: I) -> Result<Vec<String>, TestError>
    where
        I: IntoIterator<Item = M>,
        M: Into<TestMessage>,
    {
        let mut ids = Vec::new();
        for message in messages {
            ids.push(self.send_to(entity, message).await?);
        }
        Ok(ids)
    }

    fn sender(&self, entity: &str) -> Arc<Sender> {
        let mut senders = self.senders.lock().unwrap_or_else(|e| e.into_inner());
        senders
            .entry(entity.to_owned())
            .or_insert_with(|| {
                Arc::new(
                    self.running
                        .client
                        .sender(entity)
                        .with_timeout(self.running.timeout),
                )
            })
            .clone()
    }

    /// Waits until `count` deliveries have been settled for good — completed, dead-lettered
    /// or deferred — since the test host started (by every host, across restarts) (abandoned ones are delivered again and count
    /// when that delivery settles). A message sent to a topic counts once per subscription
    /// whose function runs. Fails at the deadline saying what it saw.
    pub async fn wait_settled(&self, count: usize) -> Result<(), TestError> {
        let what = format!(
            "{count} deliver{} settled for good (completed, dead-lettered or deferred)",
            if count == 1 { "y" } else { "ies" }
        );
        self.wait_until(&what, |reports| {
            reports.iter().filter(|r| r.is_final()).count() >= count
        })
        .await
    }

    /// Waits until `done` holds for the reports so far (every delivery the host is done
    /// with, in order); `what` says what is awaited, for the error at the deadline, which
    /// lists every report seen. Also fails when the host stops first.
    pub async fn wait_until(
        &self,
        what: &str,
        mut done: impl FnMut(&[InvocationReport]) -> bool,
    ) -> Result<(), TestError> {
        let timeout = self.running.timeout;
        let deadline = Instant::now() + timeout;
        let mut seen = self.running.seen.clone();
        let Some(ended) = self.running.run.as_ref().map(|run| run.ended.clone()) else {
            if done(&self.running.seen.borrow()) {
                return Ok(());
            }
            return Err(self.failed(what, "the host was stopped"));
        };
        let waited = tokio::select! {
            biased;
            waited = tokio::time::timeout_at(deadline, seen.wait_for(|reports| done(reports))) => waited,
            _ = ended.cancelled() => {
                if done(&self.running.seen.borrow()) {
                    return Ok(());
                }
                return Err(self.failed(what, "the host stopped first"));
            }
        };
        match waited {
            Ok(Ok(_)) => Ok(()),
            // Unreachable: the test host keeps the observer's channel open.
            Ok(Err(_)) => Err(self.failed(what, "the reports' channel closed")),
            Err(_) => Err(self.failed(what, &format!("timed out after {timeout:?}"))),
        }
    }

    fn failed(&self, what: &str, why: &str) -> TestError {
        let reports = self.running.seen.borrow();
        TestError::new(format!(
            "waited for {what}: {why}; functions running: {}; {}",
            self.running.functions.join(", "),
            describe(&reports)
        ))
    }

    /// Every delivery the host is done with so far, in order, for any function and session
    /// (a message no function takes has no function).
    pub fn reports(&self) -> Invocations {
        Invocations::new(self.running.seen.borrow().clone())
    }

    /// The deliveries of session `session_id` to `function`, in the order they were
    /// processed.
    pub fn invocations(&self, function: &str, session_id: &str) -> Invocations {
        self.select(|r| {
            r.function.as_deref() == Some(function) && r.session_id.as_deref() == Some(session_id)
        })
    }

    /// Every delivery to `function`, any session, in order.
    pub fn invocations_of(&self, function: &str) -> Invocations {
        self.select(|r| r.function.as_deref() == Some(function))
    }

    fn select(&self, keep: impl Fn(&InvocationReport) -> bool) -> Invocations {
        let reports = self.running.seen.borrow();
        Invocations::new(reports.iter().filter(|r| keep(r)).cloned().collect())
    }

    /// The messages in `entity`'s dead-letter queue (`entity`: a queue or
    /// `topic/Subscriptions/sub`), in sequence order, read with a peek: each has its
    /// `dead_letter_reason` and `dead_letter_error_description`.
    pub async fn dead_letters(&self, entity: &str) -> Result<Vec<Message>, TestError> {
        self.peek(&format!("{entity}/$DeadLetterQueue")).await
    }

    /// The messages waiting in `entity` (active, deferred or scheduled), in sequence order,
    /// without locking them: e.g. what the functions sent to a queue no function reads
    /// (create it with [`TestHostBuilder::queue`]).
    pub async fn peek(&self, entity: &str) -> Result<Vec<Message>, TestError> {
        let mut messages = Vec::new();
        let mut from = 0;
        loop {
            let page = tokio::time::timeout(
                self.running.timeout,
                self.running.client.peek(entity, from, PEEK_PAGE, None),
            )
            .await
            .map_err(|_| TestError::new(format!("peeking {entity}: timed out")))?
            .map_err(|e| TestError::new(format!("peeking {entity}: {e}")))?;
            let Some(last) = page.last() else {
                return Ok(messages);
            };
            from = last.message.sequence_number + 1;
            messages.extend(page.into_iter().map(|p| p.message));
        }
    }

    /// The session state of `session_id` in `entity` (a session-enabled queue or
    /// subscription) as the broker holds it, whether or not a receiver holds the session.
    pub fn session_state(
        &self,
        entity: &str,
        session_id: &str,
    ) -> Result<Option<Bytes>, TestError> {
        let broker = self
            .running
            .broker
            .as_ref()
            .ok_or_else(|| TestError::new("the test broker was shut down"))?;
        let handle = broker
            .namespace()
            .receiver(entity)
            .map_err(|e| TestError::new(format!("session state in {entity}: {e}")))?;
        handle
            .peek_session_state(session_id)
            .map_err(|e| TestError::new(format!("session state of {session_id} in {entity}: {e}")))
    }

    /// The session state of `session_id` in `entity`, read as JSON into `T` (what a
    /// `SessionState<T>` handler wrote); `None` when the session has none.
    pub fn session_state_json<T: DeserializeOwned>(
        &self,
        entity: &str,
        session_id: &str,
    ) -> Result<Option<T>, TestError> {
        match self.session_state(entity, session_id)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
                TestError::new(format!(
                    "the session state of {session_id} in {entity} is not the JSON asked for: {e}"
                ))
            }),
        }
    }

    /// Stops the host as SIGTERM does — no new messages, in-flight invocations finish and
    /// settle, sessions are released — and returns how the drain went. The broker stays up:
    /// dead letters, session state and reports can still be read. Stopping twice is a no-op
    /// (the second returns an empty report).
    pub async fn stop(&mut self) -> Result<DrainReport, TestError> {
        let Some(run) = self.running.run.take() else {
            return Ok(DrainReport {
                drained: 0,
                aborted: 0,
                failed: 0,
            });
        };
        // The host gives its triggers `shutdown_timeout` to drain; then it closes.
        let limit = self.running.launch.config.shutdown_timeout + self.running.timeout;
        run.stop.cancel();
        match tokio::time::timeout(limit, run.task).await {
            Ok(Ok(report)) => Ok(report),
            Ok(Err(e)) => Err(TestError::new(format!("the host's task failed: {e}"))),
            Err(_) => Err(TestError::new(format!(
                "the host did not stop within {limit:?}"
            ))),
        }
    }

    /// Stops the host ([`stop`](Self::stop)) and shuts the broker down.
    pub async fn shutdown(mut self) -> Result<DrainReport, TestError> {
        let report = self.stop().await?;
        self.running.client.close().await;
        if let Some(broker) = self.running.broker.take() {
            broker.shutdown().await;
        }
        Ok(report)
    }
}

impl Drop for TestHost {
    /// A test host dropped without [`stop`](TestHost::stop) stops its host in the
    /// background (the test's runtime ends it).
    fn drop(&mut self) {
        if let Some(run) = &self.running.run {
            run.stop.cancel();
        }
    }
}
