//! The session and message pumps, driven from the in-memory source: ordering, the
//! concurrency bound, settlement of every outcome, state, lock loss and shutdown.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{
    CancellationToken, DeliveryCount, HandlerError, Json, Message, MessageActions, SessionContext,
    SessionId, Settlement,
};
use berth_host::runtime::memory::MemoryBroker;
use berth_host::runtime::session_pump::SessionEnd;
use berth_host::runtime::{acceptor, message_pump, Entity, FunctionSpec, TriggerSettings};

const QUEUE: &str = "orders";

fn spec(handler: BoxedHandler, settings: TriggerSettings) -> Arc<FunctionSpec> {
    Arc::new(FunctionSpec {
        name: "test_function".into(),
        entity: Entity::Queue(QUEUE.into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings,
        handler,
    })
}

fn broker(max_delivery_count: u32) -> MemoryBroker {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, max_delivery_count, Duration::from_secs(60));
    broker
}

fn message(session: &str, body: &str) -> Message {
    Message::with_body(body.to_owned()).session(session)
}

fn fast_idle() -> TriggerSettings {
    TriggerSettings {
        session_idle_timeout: Duration::from_millis(20),
        ..TriggerSettings::default()
    }
}

/// Runs a session trigger until `done` holds, then shuts it down and returns the summaries.
async fn run_until(
    broker: &MemoryBroker,
    function: Arc<FunctionSpec>,
    done: impl FnMut(&MemoryBroker) -> bool,
) -> Vec<berth_host::runtime::session_pump::SessionSummary> {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(acceptor::run(
        function,
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    broker.wait_until("the test's end condition", done).await;
    shutdown.cancel();
    task.await.expect("the trigger task panicked")
}

#[derive(Default)]
struct Tracker {
    in_flight: Mutex<HashMap<String, usize>>,
    sessions_now: AtomicUsize,
    sessions_max: AtomicUsize,
    overlaps: AtomicUsize,
    seen: Mutex<HashMap<String, Vec<u32>>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_interleaved_sessions_keep_order_and_the_concurrency_bound() {
    const SESSIONS: usize = 40;
    const PER_SESSION: u32 = 25;
    let broker = broker(10);
    for n in 0..PER_SESSION {
        for s in 0..SESSIONS {
            broker.send(QUEUE, message(&format!("s{s}"), &format!("{{\"n\":{n}}}")));
        }
    }
    #[derive(serde::Deserialize)]
    struct Step {
        n: u32,
    }
    let tracker = Arc::new(Tracker::default());
    let t = tracker.clone();
    let handler = move |SessionId(session): SessionId, Json(step): Json<Step>| {
        let t = t.clone();
        async move {
            {
                let mut in_flight = t.in_flight.lock().unwrap();
                let count = in_flight.entry(session.clone()).or_default();
                *count += 1;
                if *count > 1 {
                    t.overlaps.fetch_add(1, Ordering::SeqCst);
                } else {
                    let now = t.sessions_now.fetch_add(1, Ordering::SeqCst) + 1;
                    t.sessions_max.fetch_max(now, Ordering::SeqCst);
                }
            }
            tokio::task::yield_now().await;
            t.seen
                .lock()
                .unwrap()
                .entry(session.clone())
                .or_default()
                .push(step.n);
            t.sessions_now.fetch_sub(1, Ordering::SeqCst);
            *t.in_flight.lock().unwrap().get_mut(&session).unwrap() -= 1;
            Ok::<(), HandlerError>(())
        }
    };
    let settings = TriggerSettings {
        max_concurrent_sessions: 4,
        ..fast_idle()
    };
    let total = SESSIONS * PER_SESSION as usize;
    run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == total
    })
    .await;

    let seen = tracker.seen.lock().unwrap();
    assert_eq!(seen.len(), SESSIONS);
    for (session, steps) in seen.iter() {
        let expected: Vec<u32> = (0..PER_SESSION).collect();
        assert_eq!(
            steps, &expected,
            "session {session} out of order or duplicated"
        );
    }
    assert_eq!(
        tracker.overlaps.load(Ordering::SeqCst),
        0,
        "two invocations of one session overlapped"
    );
    let max = tracker.sessions_max.load(Ordering::SeqCst);
    assert!(
        max <= 4,
        "{max} sessions ran at once with max_concurrent_sessions = 4"
    );
    assert!(max >= 2, "sessions never ran in parallel (max {max})");
    assert!(broker.dead_letters(QUEUE).is_empty());
}

#[tokio::test]
async fn an_error_abandons_and_the_message_comes_back_before_the_next_one() {
    let broker = broker(10);
    for body in ["a", "b", "c"] {
        broker.send(QUEUE, message("s1", body));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let l = log.clone();
    let handler = move |body: String, DeliveryCount(count): DeliveryCount| {
        let l = l.clone();
        async move {
            l.lock().unwrap().push(format!("{body}{count}"));
            if body == "b" && count < 3 {
                return Err(HandlerError::msg("transient failure"));
            }
            Ok(())
        }
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 3,
    )
    .await;
    assert_eq!(*log.lock().unwrap(), ["a1", "b1", "b2", "b3", "c1"]);
}

#[tokio::test]
async fn a_poison_message_is_dead_lettered_after_max_delivery_and_the_session_goes_on() {
    let broker = broker(3);
    for body in ["ok-1", "poison", "ok-2"] {
        broker.send(QUEUE, message("s1", body));
    }
    let handler = |body: String| async move {
        if body == "poison" {
            panic!("cannot handle {body}");
        }
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 2 && b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    let dead = broker.dead_letters(QUEUE);
    assert_eq!(dead[0].reason, "MaxDeliveryCountExceeded");
    assert_eq!(dead[0].message.body_str(), Some("poison"));
    assert_eq!(dead[0].message.delivery_count, 3);
    let done: Vec<_> = broker
        .completed(QUEUE)
        .iter()
        .map(|m| m.body_str().unwrap().to_owned())
        .collect();
    assert_eq!(done, ["ok-1", "ok-2"]);
}

#[tokio::test]
async fn invalid_json_is_dead_lettered_with_the_serde_error_and_the_handler_never_runs() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Order {
        customer_id: String,
    }
    let broker = broker(10);
    broker.send(QUEUE, message("s1", "{\"customer_id\": 42}"));
    broker.send(QUEUE, message("s1", "{\"customer_id\": \"c-1\"}"));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move |Json(_order): Json<Order>| {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
        }
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let dead = broker.dead_letters(QUEUE);
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "DeserializationFailed");
    assert!(
        dead[0].description.contains("line 1 column"),
        "description without position: {}",
        dead[0].description
    );
    assert!(
        dead[0].description.contains("Order"),
        "{}",
        dead[0].description
    );
}

#[tokio::test]
async fn session_state_and_explicit_settlement_reach_the_broker() {
    let broker = broker(10);
    broker.send(QUEUE, message("s1", "first"));
    broker.send(QUEUE, message("s1", "second"));
    let handler = |body: String, session: SessionContext, actions: MessageActions| async move {
        let previous = session.get_state().await?;
        let joined = match previous {
            Some(p) => format!("{}+{body}", String::from_utf8_lossy(&p)),
            None => body.clone(),
        };
        session.set_state(joined).await?;
        if body == "second" {
            actions.defer(Default::default()).await?;
        } else {
            actions.complete().await?;
        }
        Ok::<_, HandlerError>(())
    };
    let settings = TriggerSettings {
        auto_complete: false,
        ..fast_idle()
    };
    run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == 1 && b.deferred(QUEUE).len() == 1
    })
    .await;
    assert_eq!(
        broker.session_state(QUEUE, "s1").as_deref(),
        Some(&b"first+second"[..])
    );
}

#[tokio::test]
async fn a_returned_settlement_is_applied() {
    let broker = broker(10);
    broker.send(QUEUE, message("s1", "x"));
    let handler = || async { Settlement::dead_letter("Invalid", "not wanted") };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    let dead = broker.dead_letters(QUEUE);
    assert_eq!(
        (dead[0].reason.as_str(), dead[0].description.as_str()),
        ("Invalid", "not wanted")
    );
}

#[tokio::test]
async fn idle_sessions_are_released_so_others_are_accepted_with_one_slot() {
    let broker = broker(10);
    for s in 0..5 {
        broker.send(QUEUE, message(&format!("s{s}"), "x"));
    }
    let settings = TriggerSettings {
        max_concurrent_sessions: 1,
        ..fast_idle()
    };
    let handler = || async {};
    let summaries = run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == 5
    })
    .await;
    let idle = summaries
        .iter()
        .filter(|s| s.end == SessionEnd::Idle)
        .count();
    assert!(
        idle >= 4,
        "sessions were not released when idle: {summaries:?}"
    );
}

#[tokio::test]
async fn lock_loss_cancels_the_invocation_and_the_message_is_not_settled() {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_millis(200));
    broker.send(QUEUE, message("s1", "slow"));
    let b = broker.clone();
    let attempts = Arc::new(AtomicUsize::new(0));
    let a = attempts.clone();
    let handler = move |cancel: CancellationToken, DeliveryCount(count): DeliveryCount| {
        let (b, a) = (b.clone(), a.clone());
        async move {
            a.fetch_add(1, Ordering::SeqCst);
            if count == 1 {
                // The broker takes the lock away; the host must notice at its next renewal.
                b.expire_session_lock(QUEUE, "s1");
                cancel.cancelled().await;
            }
        }
    };
    let summaries = run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(attempts.load(Ordering::SeqCst), 2);
    assert!(summaries.iter().any(|s| s.end == SessionEnd::LockLost));
    assert_eq!(broker.completed(QUEUE)[0].delivery_count, 2);
}

#[tokio::test]
async fn shutdown_lets_the_in_flight_invocation_finish_and_settle() {
    let broker = broker(10);
    broker.send(QUEUE, message("s1", "in-flight"));
    broker.send(QUEUE, message("s1", "never"));
    let entered = Arc::new(tokio::sync::Notify::new());
    let gate = Arc::new(tokio::sync::Notify::new());
    let (e, g) = (entered.clone(), gate.clone());
    let handler = move |cancel: CancellationToken| {
        let (e, g) = (e.clone(), g.clone());
        async move {
            e.notify_one();
            g.notified().await;
            assert!(cancel.is_cancelled(), "the token should fire on shutdown");
        }
    };
    let shutdown = CancellationToken::new();
    let settings = TriggerSettings {
        session_idle_timeout: Duration::from_secs(3600),
        ..TriggerSettings::default()
    };
    let task = tokio::spawn(acceptor::run(
        spec(BoxedHandler::new(handler), settings),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    entered.notified().await;
    shutdown.cancel();
    gate.notify_one();
    let summaries = task.await.unwrap();
    assert_eq!(summaries.len(), 1);
    assert_eq!(summaries[0].end, SessionEnd::Shutdown);
    assert_eq!(summaries[0].invocations, 1);
    assert_eq!(broker.completed(QUEUE).len(), 1);
    assert_eq!(
        broker.pending(QUEUE),
        1,
        "the second message must stay for another host"
    );
}

#[tokio::test]
async fn non_session_triggers_run_concurrently_and_settle() {
    let broker = broker(2);
    for n in 0..20 {
        broker.send(QUEUE, Message::with_body(format!("{n}")));
    }
    let handler = |body: String| async move {
        if body == "13" {
            return Err(HandlerError::msg("unlucky"));
        }
        Ok(())
    };
    let function = Arc::new(FunctionSpec {
        sessions: false,
        ..(*spec(BoxedHandler::new(handler), TriggerSettings::default())).clone()
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(message_pump::run(
        function,
        broker.message_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("19 completions and one dead letter", |b| {
            b.completed(QUEUE).len() == 19 && b.dead_letters(QUEUE).len() == 1
        })
        .await;
    shutdown.cancel();
    assert_eq!(task.await.unwrap(), 21);
}

#[tokio::test]
async fn the_drain_is_bounded_by_the_shutdown_timeout() {
    use berth_host::runtime::TriggerSet;
    let broker = broker(10);
    broker.send(QUEUE, message("stuck", "x"));
    broker.send(QUEUE, message("quick", "y"));
    let entered = Arc::new(tokio::sync::Semaphore::new(0));
    let e = entered.clone();
    let handler = move |SessionId(id): SessionId| {
        let e = e.clone();
        async move {
            e.add_permits(1);
            if id == "stuck" {
                std::future::pending::<()>().await;
            }
        }
    };
    let shutdown = CancellationToken::new();
    let mut triggers = TriggerSet::new();
    triggers.spawn(acceptor::run(
        spec(BoxedHandler::new(handler), TriggerSettings::default()),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    let _both = entered.acquire_many(2).await.unwrap();
    shutdown.cancel();
    let report = triggers.run_until(shutdown, Duration::from_secs(1)).await;
    assert_eq!(report.aborted, 1);
    let done: Vec<_> = broker
        .completed(QUEUE)
        .iter()
        .map(|m| m.body_str().unwrap().to_owned())
        .collect();
    assert_eq!(done, ["y"], "the quick session's message must be completed");
}

fn retrying(max_attempts: u32, poison: berth_host::runtime::PoisonPolicy) -> TriggerSettings {
    TriggerSettings {
        retry: Some(berth_host::runtime::RetryPolicy {
            max_attempts,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
        }),
        poison,
        ..fast_idle()
    }
}

#[tokio::test]
async fn in_order_retry_runs_again_inside_the_lock_without_redelivery() {
    let broker = broker(10);
    for body in ["a", "flaky", "b"] {
        broker.send(QUEUE, message("s1", body));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(AtomicUsize::new(0));
    let (l, f) = (log.clone(), failures.clone());
    let handler = move |body: String, DeliveryCount(count): DeliveryCount| {
        let (l, f) = (l.clone(), f.clone());
        async move {
            l.lock().unwrap().push(format!("{body}{count}"));
            if body == "flaky" && f.fetch_add(1, Ordering::SeqCst) < 2 {
                return Err(HandlerError::msg("not yet"));
            }
            Ok(())
        }
    };
    let settings = retrying(5, berth_host::runtime::PoisonPolicy::DeadLetter);
    run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == 3
    })
    .await;
    // Retried in place: same delivery (count 1), before "b", never abandoned to the broker.
    assert_eq!(
        *log.lock().unwrap(),
        ["a1", "flaky1", "flaky1", "flaky1", "b1"]
    );
}

#[tokio::test]
async fn exhausted_retries_dead_letter_by_default_and_the_session_goes_on() {
    let broker = broker(10);
    broker.send(QUEUE, message("s1", "poison"));
    broker.send(QUEUE, message("s1", "fine"));
    let handler = |body: String| async move {
        if body == "poison" {
            Err(HandlerError::msg("always broken"))
        } else {
            Ok(())
        }
    };
    let settings = retrying(3, berth_host::runtime::PoisonPolicy::DeadLetter);
    run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == 1 && b.dead_letters(QUEUE).len() == 1
    })
    .await;
    let dead = &broker.dead_letters(QUEUE)[0];
    assert_eq!(dead.reason, "MaxRetriesExceeded");
    assert!(
        dead.description.contains("3 of 3") && dead.description.contains("always broken"),
        "{}",
        dead.description
    );
    assert_eq!(
        dead.message.delivery_count, 1,
        "retries must not go through the broker"
    );
}

#[tokio::test]
async fn exhausted_retries_with_poison_abandon_leave_it_to_the_max_delivery_count() {
    let broker = broker(2);
    broker.send(QUEUE, message("s1", "poison"));
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let handler = move || {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(HandlerError::msg("broken"))
        }
    };
    let settings = retrying(2, berth_host::runtime::PoisonPolicy::Abandon);
    run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.dead_letters(QUEUE).len() == 1
    })
    .await;
    assert_eq!(
        broker.dead_letters(QUEUE)[0].reason,
        "MaxDeliveryCountExceeded"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4, "2 attempts × 2 deliveries");
}

#[tokio::test]
async fn max_messages_per_session_rotates_a_hot_session_out_of_its_slot() {
    let broker = broker(10);
    for n in 0..6 {
        broker.send(QUEUE, message("hot", &format!("h{n}")));
    }
    broker.send(QUEUE, message("cold", "c0"));
    let order = Arc::new(Mutex::new(Vec::new()));
    let o = order.clone();
    let handler = move |body: String| {
        let o = o.clone();
        async move {
            o.lock().unwrap().push(body);
        }
    };
    let settings = TriggerSettings {
        max_concurrent_sessions: 1,
        max_messages_per_session: Some(2),
        ..fast_idle()
    };
    let summaries = run_until(&broker, spec(BoxedHandler::new(handler), settings), |b| {
        b.completed(QUEUE).len() == 7
    })
    .await;
    let order = order.lock().unwrap();
    let cold_at = order.iter().position(|b| b == "c0").unwrap();
    assert!(
        cold_at <= 2,
        "the cold session waited behind the hot one: {order:?}"
    );
    let hot: Vec<&String> = order.iter().filter(|b| b.starts_with('h')).collect();
    assert_eq!(
        hot,
        ["h0", "h1", "h2", "h3", "h4", "h5"],
        "rotation must keep order"
    );
    assert!(summaries.iter().any(|s| s.end == SessionEnd::Rotated));
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Totals {
    orders: u32,
    amount: u64,
}

#[tokio::test]
async fn typed_session_state_is_loaded_once_and_written_back_before_completion() {
    let broker = broker(10);
    for amount in [10, 20, 30] {
        broker.send(QUEUE, message("c1", &amount.to_string()));
    }
    let handler = |body: String, mut totals: berth::SessionState<Totals>| async move {
        let amount: u64 = body.parse()?;
        totals.orders += 1;
        totals.amount += amount;
        Ok::<_, HandlerError>(())
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 3,
    )
    .await;
    let state = broker.session_state(QUEUE, "c1").unwrap();
    let totals: Totals = serde_json::from_slice(&state).unwrap();
    assert_eq!((totals.orders, totals.amount), (3, 60));
}

#[tokio::test]
async fn a_failed_invocation_leaves_the_typed_state_unchanged() {
    let broker = broker(2);
    broker.send(QUEUE, message("c1", "5"));
    broker.send(QUEUE, message("c1", "boom"));
    let handler = |body: String, mut totals: berth::SessionState<Totals>| async move {
        totals.orders += 1;
        let amount: u64 = body.parse()?;
        totals.amount += amount;
        Ok::<_, HandlerError>(())
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 1 && b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    let totals: Totals =
        serde_json::from_slice(&broker.session_state(QUEUE, "c1").unwrap()).unwrap();
    assert_eq!((totals.orders, totals.amount), (1, 5));
}

#[tokio::test]
async fn an_oversized_typed_state_is_not_written_and_the_message_is_abandoned() {
    let broker = broker(1);
    broker.send(QUEUE, message("c1", "big"));
    let handler = |mut state: berth::SessionState<Vec<u8>>| async move {
        *state = vec![7u8; 200 * 1024];
    };
    run_until(
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(broker.session_state(QUEUE, "c1"), None);
    assert!(broker.completed(QUEUE).is_empty());
}

#[tokio::test]
async fn a_lock_that_runs_out_after_the_renewal_budget_cancels_the_handler() {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_millis(300));
    broker.send(QUEUE, message("s1", "long"));
    let cancelled = Arc::new(tokio::sync::Notify::new());
    let c = cancelled.clone();
    let handler = move |cancel: CancellationToken| {
        let c = c.clone();
        async move {
            cancel.cancelled().await;
            c.notify_one();
        }
    };
    let settings = TriggerSettings {
        max_auto_lock_renewal_duration: Duration::from_millis(10),
        ..fast_idle()
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(acceptor::run(
        spec(BoxedHandler::new(handler), settings),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    cancelled.notified().await;
    shutdown.cancel();
    let summaries = task.await.unwrap();
    assert_eq!(summaries[0].end, SessionEnd::LockLost);
    assert!(
        broker.completed(QUEUE).is_empty(),
        "a message whose lock ran out must not be settled"
    );
}

#[tokio::test]
async fn a_message_that_arrives_after_the_lock_expired_is_not_handed_to_the_handler() {
    // A host frozen past its session lock (SIGSTOP, a long pause) must not run a handler on a
    // session the broker may already have given to another host.
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_millis(300));
    broker.send(QUEUE, message("s1", "one"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let handler = move |body: String| {
        let s = s.clone();
        async move { s.lock().unwrap().push(body) }
    };
    let settings = TriggerSettings {
        // The renewal budget is spent at once: the lock runs out 300 ms after acceptance.
        max_auto_lock_renewal_duration: Duration::from_millis(1),
        session_idle_timeout: Duration::from_secs(30),
        ..TriggerSettings::default()
    };
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(acceptor::run(
        spec(BoxedHandler::new(handler), settings),
        broker.session_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("the first completion", |b| b.completed(QUEUE).len() == 1)
        .await;
    broker.send(QUEUE, message("s1", "two"));
    // The fault: the whole host (this single-threaded runtime) stops for longer than the
    // lock lasts, with the next message already there when it resumes.
    std::thread::sleep(Duration::from_millis(600));
    // Once "two" is taken from the queue, the pump decides whether to run it; shutting down
    // does not stop a message it has taken.
    let taken = broker.wait_until("'two' taken", |b| {
        b.in_flight(QUEUE) == 1 || b.completed(QUEUE).len() == 2
    });
    tokio::time::timeout(Duration::from_secs(10), taken)
        .await
        .expect("the pump takes 'two' after the pause");
    shutdown.cancel();
    let summaries = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the trigger stops after shutdown")
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), vec!["one".to_owned()]);
    assert_eq!(summaries[0].end, SessionEnd::LockLost);
    assert_eq!(broker.completed(QUEUE).len(), 1, "'two' is not settled");
}

/// `run_until`, failing with `what` when it does not happen within 10 s.
async fn run_until_within(
    what: &str,
    broker: &MemoryBroker,
    function: Arc<FunctionSpec>,
    done: impl FnMut(&MemoryBroker) -> bool,
) -> Vec<berth_host::runtime::session_pump::SessionSummary> {
    tokio::time::timeout(Duration::from_secs(10), run_until(broker, function, done))
        .await
        .unwrap_or_else(|_| panic!("timed out after 10 s waiting for {what}"))
}

#[tokio::test]
async fn an_error_marked_to_dead_letter_skips_the_retries_and_dead_letters_at_once() {
    use berth::DeadLetterOnErr;
    let broker = broker(10);
    for body in ["12", "twelve", "7"] {
        broker.send(QUEUE, message("s1", body));
    }
    let calls = Arc::new(Mutex::new(Vec::new()));
    let c = calls.clone();
    let handler = move |body: String| {
        let c = c.clone();
        async move {
            c.lock().unwrap().push(body.clone());
            let _quantity: u32 = body.parse().dead_letter_on_err("InvalidQuantity")?;
            Ok::<_, HandlerError>(())
        }
    };
    let settings = retrying(5, berth_host::runtime::PoisonPolicy::DeadLetter);
    run_until_within(
        "2 completed and 1 dead-lettered",
        &broker,
        spec(BoxedHandler::new(handler), settings),
        |b| b.completed(QUEUE).len() == 2 && b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(*calls.lock().unwrap(), ["12", "twelve", "7"], "no retry");
    let dead = &broker.dead_letters(QUEUE)[0];
    assert_eq!(dead.reason, "InvalidQuantity");
    assert_eq!(dead.description, "invalid digit found in string");
    assert_eq!(dead.message.delivery_count, 1);
}

#[tokio::test]
async fn an_anyhow_error_in_a_non_session_trigger_abandons_and_a_dead_letter_error_does_not() {
    let broker = broker(3);
    broker.send(QUEUE, Message::with_body("flaky"));
    broker.send(QUEUE, Message::with_body("invalid"));
    let handler = |body: String| async move {
        if body == "flaky" {
            Err(anyhow::anyhow!("the stock service timed out"))?;
        }
        Err::<(), _>(HandlerError::dead_letter("InvalidOrder", "no such product"))
    };
    let function = Arc::new(FunctionSpec {
        sessions: false,
        ..(*spec(BoxedHandler::new(handler), TriggerSettings::default())).clone()
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(message_pump::run(
        function,
        broker.message_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("both messages dead-lettered", |b| {
            b.dead_letters(QUEUE).len() == 2
        })
        .await;
    shutdown.cancel();
    // The anyhow error was retried by the broker (3 deliveries); the other went at once.
    assert_eq!(task.await.unwrap(), 4);
    let mut dead: Vec<_> = broker
        .dead_letters(QUEUE)
        .into_iter()
        .map(|d| {
            (
                d.message.body_str().unwrap().to_owned(),
                d.reason,
                d.message.delivery_count,
            )
        })
        .collect();
    dead.sort();
    assert_eq!(dead[0].0, "flaky");
    assert_eq!(dead[0].2, 3);
    assert_eq!(
        (dead[1].0.as_str(), dead[1].1.as_str(), dead[1].2),
        ("invalid", "InvalidOrder", 1)
    );
}

#[tokio::test]
async fn a_session_state_moved_into_a_spawned_task_fails_the_invocation_instead_of_losing_the_change(
) {
    let broker = broker(2);
    broker.send(QUEUE, message("c1", "5"));
    let release = Arc::new(tokio::sync::Notify::new());
    let r = release.clone();
    let handler = move |DeliveryCount(count): DeliveryCount,
                        mut totals: berth::SessionState<Totals>| {
        let r = r.clone();
        async move {
            totals.orders += 1;
            if count == 1 {
                // The mistake: the state leaves the handler, so its value at return is unknown.
                tokio::spawn(async move {
                    r.notified().await;
                    drop(totals);
                });
            }
        }
    };
    run_until_within(
        "the redelivery to be completed",
        &broker,
        spec(BoxedHandler::new(handler), fast_idle()),
        |b| b.completed(QUEUE).len() == 1,
    )
    .await;
    release.notify_one();
    let completed = broker.completed(QUEUE);
    assert_eq!(
        completed[0].delivery_count, 2,
        "the first invocation must fail"
    );
    let totals: Totals =
        serde_json::from_slice(&broker.session_state(QUEUE, "c1").unwrap()).unwrap();
    assert_eq!(
        totals.orders, 1,
        "only the second invocation's change is saved"
    );
}

mod non_session_retry;
