//! Parking, driven from the in-memory source: a quiet session gives its slot back while it
//! waits for more messages, so a long `session_idle_timeout` never holds up accepting the
//! next session, and a parked session that gets a message takes a slot again and handles
//! it in order.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{Message, SessionId};
use berth_host::runtime::memory::MemoryBroker;
use berth_host::runtime::session_pump::{SessionEnd, SessionSummary};
use berth_host::runtime::{acceptor, Entity, FunctionSpec, TriggerSettings};
use tokio_util::sync::CancellationToken;

const QUEUE: &str = "orders";

fn broker() -> MemoryBroker {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_secs(60));
    broker
}

fn message(session: &str, body: &str) -> Message {
    Message::with_body(body.to_owned()).session(session)
}

/// An hour of idle time: without parking, each slot would stay with its first session for
/// that long.
fn hour_idle(max_concurrent_sessions: u32) -> TriggerSettings {
    TriggerSettings {
        max_concurrent_sessions,
        session_idle_timeout: Duration::from_secs(3600),
        ..TriggerSettings::default()
    }
}

/// Counts invocations in flight and the most seen at once; records (session, body) in order.
#[derive(Default)]
struct Record {
    now: AtomicUsize,
    max: AtomicUsize,
    handled: Mutex<Vec<(String, String)>>,
}

fn recording_spec(record: Arc<Record>, settings: TriggerSettings) -> Arc<FunctionSpec> {
    let handler = move |SessionId(s): SessionId, m: Message| {
        let record = record.clone();
        async move {
            let now = record.now.fetch_add(1, Ordering::SeqCst) + 1;
            record.max.fetch_max(now, Ordering::SeqCst);
            tokio::task::yield_now().await;
            let body = String::from_utf8_lossy(&m.body).into_owned();
            record.handled.lock().unwrap().push((s, body));
            record.now.fetch_sub(1, Ordering::SeqCst);
        }
    };
    Arc::new(FunctionSpec {
        name: "test_function".into(),
        entity: Entity::Queue(QUEUE.into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings,
        handler: BoxedHandler::new(handler),
    })
}

async fn stop(
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Vec<SessionSummary>>,
) -> Vec<SessionSummary> {
    shutdown.cancel();
    task.await.expect("the trigger task panicked")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_message_sessions_drain_with_an_hour_of_idle_time() {
    let broker = broker();
    for s in 0..200 {
        broker.send(QUEUE, message(&format!("s{s}"), "only"));
    }
    let record = Arc::new(Record::default());
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(acceptor::run(
        recording_spec(record.clone(), hour_idle(4)),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("200 completions", |b| b.completed(QUEUE).len() == 200)
        .await;
    let summaries = stop(shutdown, task).await;

    assert_eq!(
        record.handled.lock().unwrap().len(),
        200,
        "each handled once"
    );
    assert!(
        record.max.load(Ordering::SeqCst) <= 4,
        "the slot bound holds"
    );
    // Every session but the few still parked at shutdown made room for a newer one.
    let idle = summaries
        .iter()
        .filter(|s| s.end == SessionEnd::Idle)
        .count();
    let at_shutdown = summaries
        .iter()
        .filter(|s| s.end == SessionEnd::Shutdown)
        .count();
    assert_eq!(idle + at_shutdown, 200, "{summaries:?}");
    assert!(
        at_shutdown <= 2 * 4 + 1,
        "{at_shutdown} sessions held at once"
    );
    assert_eq!(broker.pending(QUEUE), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_session_takes_a_slot_back_when_its_next_message_arrives() {
    let broker = broker();
    broker.send(QUEUE, message("a", "1"));
    let record = Arc::new(Record::default());
    let shutdown = CancellationToken::new();
    // One slot: while `a` is parked the acceptor holds it, waiting for another session.
    let task = tokio::spawn(acceptor::run(
        recording_spec(record.clone(), hour_idle(1)),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("the first completion", |b| b.completed(QUEUE).len() == 1)
        .await;
    broker.send(QUEUE, message("a", "2"));
    broker
        .wait_until("two completions", |b| b.completed(QUEUE).len() == 2)
        .await;
    broker.send(QUEUE, message("b", "1"));
    broker.send(QUEUE, message("a", "3"));
    broker
        .wait_until("four completions", |b| b.completed(QUEUE).len() == 4)
        .await;
    let summaries = stop(shutdown, task).await;

    let handled = record.handled.lock().unwrap().clone();
    let of = |session: &str| -> Vec<String> {
        handled
            .iter()
            .filter(|(s, _)| s == session)
            .map(|(_, b)| b.clone())
            .collect()
    };
    assert_eq!(of("a"), ["1", "2", "3"]);
    assert_eq!(of("b"), ["1"]);
    assert_eq!(record.max.load(Ordering::SeqCst), 1, "one slot");
    // `a` stayed accepted the whole time: one acceptance, three invocations.
    let a: Vec<_> = summaries.iter().filter(|s| s.session_id == "a").collect();
    assert_eq!(a.len(), 1, "{summaries:?}");
    assert_eq!(a[0].invocations, 3);
}
