//! Issue 4's core guarantees end to end: 200 sessions × 50 messages, sent interleaved while
//! the trigger runs (by our `Sender`, and by the official Python SDK), consumed by
//! `runtime::acceptor::run` on `ServiceBusClient::session_source` against the embedded
//! broker. Every message is handled exactly once, each session's messages in order, never
//! two invocations of one session at once, and `max_concurrent_sessions` is respected and
//! reached.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{DeliveryCount, HandlerError, Message, SessionId};
use berth_host::runtime::TriggerSettings;
use berth_host::servicebus::{ConnectionString, ServiceBusClient};

use crate::e2e_support;
use crate::servicebus_support;
use e2e_support::*;
use servicebus_support::{client, counts, msg};

const SESSIONS: u32 = 200;
const PER_SESSION: u32 = 50;
const MAX_SESSIONS: u32 = 16;
const QUEUE: &str = "orders";

/// The handler: journal the invocation; the first ones wait until `MAX_SESSIONS` run at once.
fn handler(journal: Arc<Journal>) -> BoxedHandler {
    BoxedHandler::new(
        move |SessionId(session): SessionId, DeliveryCount(dc): DeliveryCount, m: Message| {
            let journal = journal.clone();
            async move {
                let _running = journal.begin(&session, n_of(&m), dc);
                journal
                    .gate(MAX_SESSIONS as usize, Duration::from_secs(60))
                    .await;
                tokio::task::yield_now().await;
                Ok::<(), HandlerError>(())
            }
        },
    )
}

/// Runs the trigger while `send` sends, then checks every guarantee.
async fn run_and_check<F, Fut>(send: F)
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let broker = servicebus_support::start(&session_queue(QUEUE, "30s", 10)).await;
    let client: ServiceBusClient = client(&broker).await;
    let journal = Journal::new();
    let settings = TriggerSettings {
        max_concurrent_sessions: MAX_SESSIONS,
        ..TriggerSettings::default()
    };
    let trigger = Trigger::start(&client, spec(QUEUE, settings, handler(journal.clone())));

    send(broker.connection_string()).await;
    let total = (SESSIONS * PER_SESSION) as usize;
    journal
        .wait_for(
            "every message to be handled",
            Duration::from_secs(300),
            |r| r.total >= total,
        )
        .await;
    let summaries = trigger.stop().await;

    let record = journal.snapshot();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    assert!(
        record.overlaps.is_empty(),
        "sessions with two invocations at once: {:?}",
        record.overlaps
    );
    assert_eq!(
        record.max_in_flight, MAX_SESSIONS as usize,
        "max_concurrent_sessions must be reached and never exceeded"
    );
    assert_eq!(record.total, total, "every message handled exactly once");
    assert_eq!(record.by_session.len(), SESSIONS as usize);
    let in_order: Vec<Seen> = (0..PER_SESSION)
        .map(|n| Seen {
            n,
            delivery_count: 1,
        })
        .collect();
    for (session, seen) in &record.by_session {
        assert_eq!(seen, &in_order, "session {session}");
    }
    let handled: u64 = summaries.iter().map(|s| s.invocations).sum();
    assert_eq!(handled, total as u64, "the pumps' own count");
    let c = counts(&broker, QUEUE);
    assert_eq!(
        (c.active, c.locked, c.deferred, c.dead_lettered),
        (0, 0, 0, 0),
        "every message completed"
    );
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_sessions_sent_by_our_sender_are_handled_once_in_order() {
    run_and_check(|cs| async move {
        let client = ServiceBusClient::connect(ConnectionString::parse(&cs).unwrap())
            .await
            .unwrap();
        let sender = client.sender(QUEUE);
        for n in 0..PER_SESSION {
            let round: Vec<Message> = (0..SESSIONS).map(|s| msg(&format!("s{s}"), n)).collect();
            sender.send_batch(&round).await.unwrap();
        }
        client.close().await;
    })
    .await;
}

/// Sends the workload with the official Python SDK (`e2e_sdk/send_sessions.py`): one batch
/// per round, or with `fill`, batches filled up to the SDK's own size limit.
async fn send_with_python(cs: String, fill: bool) {
    let python = tokio::task::spawn_blocking(python_sdk).await.unwrap();
    let script = repo_root().join("host/tests/e2e_sdk/send_sessions.py");
    let child = std::process::Command::new(python)
        .arg(script)
        .env("SB_CONNECTION_STRING", cs)
        .env("SB_QUEUE", QUEUE)
        .env("SESSIONS", SESSIONS.to_string())
        .env("PER_SESSION", PER_SESSION.to_string())
        .env("FILL", if fill { "1" } else { "0" })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let run = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap());
    let Ok(out) = tokio::time::timeout(Duration::from_secs(300), run).await else {
        let _ = std::process::Command::new("kill")
            .args(["-9", &pid.to_string()])
            .status();
        panic!("the Python sender did not finish within 300 s");
    };
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "the Python sender failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(line["count"], SESSIONS * PER_SESSION);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interleaved_sessions_sent_by_the_python_sdk_are_handled_once_in_order() {
    run_and_check(|cs| send_with_python(cs, false)).await;
}

/// The Python SDK fills a `ServiceBusMessageBatch` up to the link's max-message-size by its
/// own estimate, which comes out a few bytes over it when encoded (262 157 bytes for
/// 262 144); Service Bus takes such batches, and so must the broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_python_sdk_batches_are_accepted_and_handled() {
    run_and_check(|cs| send_with_python(cs, true)).await;
}
