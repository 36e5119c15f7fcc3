//! Shared by the `e2e_*` tests: the real pumps (`runtime::acceptor::run`) on the real client
//! (`ServiceBusClient::session_source`) against an in-process broker, a journal of what the
//! handlers saw, and bounded waits on it.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{CancellationToken, Message};
use berth_emulator::broker::RunningBroker;
use berth_emulator::entity::EntityCounts;
use berth_host::runtime::session_pump::SessionSummary;
use berth_host::runtime::{acceptor, Entity, FunctionSpec, TriggerSettings};
use berth_host::servicebus::ServiceBusClient;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A session queue `name` with these settings, as broker entities TOML.
pub fn session_queue(name: &str, lock_duration: &str, max_delivery_count: u32) -> String {
    format!(
        "[[queues]]\nname = \"{name}\"\nrequires_session = true\nlock_duration = \"{lock_duration}\"\nmax_delivery_count = {max_delivery_count}\n"
    )
}

/// A session function on queue `queue`.
pub fn spec(queue: &str, settings: TriggerSettings, handler: BoxedHandler) -> Arc<FunctionSpec> {
    Arc::new(FunctionSpec {
        name: format!("{queue}-function").into(),
        entity: Entity::Queue(queue.into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings,
        handler,
    })
}

/// A running session trigger: stop it with [`Trigger::stop`].
pub struct Trigger {
    shutdown: CancellationToken,
    task: JoinHandle<Vec<SessionSummary>>,
}

impl Trigger {
    /// Runs `spec` on `client` (the source `ServiceBusClient::session_source` makes).
    pub fn start(client: &ServiceBusClient, spec: Arc<FunctionSpec>) -> Trigger {
        let shutdown = CancellationToken::new();
        let source = client.session_source(&spec.entity.path(), spec.settings.prefetch_count);
        let task = tokio::spawn(acceptor::run(spec, source, shutdown.clone()));
        Trigger { shutdown, task }
    }

    /// Shuts the trigger down and returns what each session pump did; fails if the drain
    /// takes more than a minute.
    pub async fn stop(self) -> Vec<SessionSummary> {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .expect("the trigger did not drain within 60 s")
            .expect("the trigger task failed")
    }
}

/// The `n` application property of a test message.
pub fn n_of(message: &Message) -> u32 {
    message
        .application_properties
        .get("n")
        .and_then(|v| v.as_i64())
        .and_then(|n| u32::try_from(n).ok())
        .expect("test messages carry an `n` property")
}

/// One invocation as a handler saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// The message's `n`.
    pub n: u32,
    /// Its delivery count.
    pub delivery_count: u32,
}

/// Everything the handlers recorded.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// Invocations per session, in the order they started.
    pub by_session: HashMap<String, Vec<Seen>>,
    /// Sessions with an invocation running now.
    pub in_flight: HashSet<String>,
    /// The most sessions ever running at once.
    pub max_in_flight: usize,
    /// Sessions that had two invocations running at once.
    pub overlaps: Vec<String>,
    /// Invocations started so far.
    pub total: usize,
    /// Things that went wrong inside handlers (asserted empty by the tests).
    pub failures: Vec<String>,
    /// Set once `max_in_flight` reached the configured maximum (see [`Journal::gate`]).
    pub gate_open: bool,
}

/// The handlers' journal, shared with the test; every change wakes the waiters.
pub struct Journal {
    record: watch::Sender<Record>,
}

/// Marks an invocation as running until dropped (also when the handler panics).
pub struct Running {
    journal: Arc<Journal>,
    session: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.journal.record.send_modify(|r| {
            r.in_flight.remove(&self.session);
        });
    }
}

impl Journal {
    /// An empty journal.
    pub fn new() -> Arc<Journal> {
        Arc::new(Journal {
            record: watch::channel(Record::default()).0,
        })
    }

    /// Records the start of an invocation; it runs until the guard is dropped.
    pub fn begin(self: &Arc<Self>, session: &str, n: u32, delivery_count: u32) -> Running {
        self.record.send_modify(|r| {
            if !r.in_flight.insert(session.to_owned()) {
                r.overlaps.push(session.to_owned());
            }
            r.max_in_flight = r.max_in_flight.max(r.in_flight.len());
            r.by_session
                .entry(session.to_owned())
                .or_default()
                .push(Seen { n, delivery_count });
            r.total += 1;
        });
        Running {
            journal: self.clone(),
            session: session.to_owned(),
        }
    }

    /// Notes a failure seen inside a handler.
    pub fn fail(&self, what: String) {
        self.record.send_modify(|r| r.failures.push(what));
    }

    /// Holds the first invocations until `max` sessions run at once (so that reaching
    /// `max_concurrent_sessions` is observed, not hoped for); later ones pass straight
    /// through. Records a failure when it is not reached within `limit`.
    pub async fn gate(&self, max: usize, limit: Duration) {
        if self.record.borrow().gate_open {
            return;
        }
        let mut rx = self.record.subscribe();
        // (The guard `wait_for` returns is dropped at once: the record is changed below.)
        let reached = tokio::time::timeout(
            limit,
            rx.wait_for(|r| r.gate_open || r.in_flight.len() >= max),
        )
        .await
        .is_ok();
        if !reached {
            let running = self.record.borrow().in_flight.len();
            self.fail(format!(
                "{max} sessions never ran at once within {limit:?} ({running} did)"
            ));
        }
        self.record.send_modify(|r| r.gate_open = true);
    }

    /// A copy of the record.
    pub fn snapshot(&self) -> Record {
        self.record.borrow().clone()
    }

    /// Waits until `done` holds; false after `limit`.
    pub async fn try_wait_for(&self, limit: Duration, done: impl FnMut(&Record) -> bool) -> bool {
        let mut rx = self.record.subscribe();
        let done = tokio::time::timeout(limit, rx.wait_for(done)).await.is_ok();
        done
    }

    /// Waits until `done` holds; panics naming `what` (with a summary) after `limit`.
    pub async fn wait_for(&self, what: &str, limit: Duration, done: impl FnMut(&Record) -> bool) {
        if !self.try_wait_for(limit, done).await {
            let r = self.snapshot();
            panic!(
                "timed out after {limit:?} waiting for {what}: {} invocations, {} sessions, in flight {:?}, failures {:?}",
                r.total,
                r.by_session.len(),
                r.in_flight,
                r.failures
            );
        }
    }
}

/// Waits until the broker's counts for `path` satisfy `done`, looking every 50 ms (the
/// broker has no event for "settled"); panics naming `what` after `limit`.
pub async fn wait_for_counts(
    broker: &RunningBroker,
    path: &str,
    what: &str,
    limit: Duration,
    mut done: impl FnMut(&EntityCounts) -> bool,
) {
    crate::wait::poll(what, limit, || {
        let counts = broker.namespace().receiver(path).unwrap().counts().unwrap();
        std::future::ready(if done(&counts) { Ok(()) } else { Err(counts) })
    })
    .await;
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The official Python SDK's interpreter, installed once per test process by
/// `scripts/install-sdks` (a failed install fails the test with the installer's output).
pub fn python_sdk() -> PathBuf {
    static OUTCOME: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let outcome = OUTCOME.get_or_init(|| {
        let output = std::process::Command::new("bash")
            .arg(repo_root().join("scripts/install-sdks"))
            .output()
            .map_err(|e| format!("could not run scripts/install-sdks: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "scripts/install-sdks failed ({}):\n{}{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let dir = std::env::var_os("BERTH_SDK_DIR")
            .map_or_else(|| repo_root().join(".cache/sdk"), PathBuf::from);
        Ok(dir.join("py/bin/python"))
    });
    match outcome {
        Ok(path) => path.clone(),
        Err(e) => panic!("the official Python SDK is required for this test: {e}"),
    }
}
