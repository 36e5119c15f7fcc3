//! A non-session trigger's `retry` and `poison` policies: the same invocation pipeline as a
//! session's, so a failing invocation is run again while the message is held (no
//! redelivery), and spent retries dead-letter (or abandon) it as configured.

use super::*;

use berth_host::runtime::PoisonPolicy;

/// Runs `handler` as a non-session trigger until `done` holds (at most 30 s), then stops it.
async fn run_messages_until(
    broker: &MemoryBroker,
    handler: BoxedHandler,
    settings: TriggerSettings,
    what: &str,
    done: impl FnMut(&MemoryBroker) -> bool,
) {
    let function = Arc::new(FunctionSpec {
        sessions: false,
        ..(*spec(handler, settings)).clone()
    });
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(message_pump::run(
        function,
        broker.message_source(QUEUE),
        shutdown.clone(),
    ));
    broker.wait_until(what, done).await;
    shutdown.cancel();
    task.await.unwrap();
}

/// A handler that fails for bodies starting with `fail` (always) or `flaky` (twice), and
/// counts its calls per body.
fn failing(calls: &Arc<Mutex<HashMap<String, u32>>>) -> BoxedHandler {
    let calls = calls.clone();
    BoxedHandler::new(move |body: String| {
        let calls = calls.clone();
        async move {
            let n = {
                let mut calls = calls.lock().unwrap();
                let n = calls.entry(body.clone()).or_default();
                *n += 1;
                *n
            };
            if body.starts_with("fail") || (body.starts_with("flaky") && n <= 2) {
                return Err(HandlerError::msg(format!("{body} broke on call {n}")));
            }
            Ok(())
        }
    })
}

#[tokio::test]
async fn a_failing_invocation_is_retried_while_held_without_redelivery() {
    let broker = broker(10);
    broker.send(QUEUE, Message::with_body("flaky"));
    let calls = Arc::default();
    run_messages_until(
        &broker,
        failing(&calls),
        retrying(3, PoisonPolicy::DeadLetter),
        "the flaky message to complete",
        |b| b.completed(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(
        calls.lock().unwrap()["flaky"],
        3,
        "two failures, then success"
    );
    assert_eq!(
        broker.completed(QUEUE)[0].delivery_count,
        1,
        "retries must not go through the broker"
    );
    assert!(broker.dead_letters(QUEUE).is_empty());
}

#[tokio::test]
async fn spent_retries_dead_letter_with_max_retries_exceeded() {
    let broker = broker(10);
    broker.send(QUEUE, Message::with_body("fail-always"));
    broker.send(QUEUE, Message::with_body("fine"));
    let calls = Arc::default();
    run_messages_until(
        &broker,
        failing(&calls),
        retrying(3, PoisonPolicy::DeadLetter),
        "one completion and one dead letter",
        |b| b.completed(QUEUE).len() == 1 && b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    let dead = &broker.dead_letters(QUEUE)[0];
    assert_eq!(dead.reason, "MaxRetriesExceeded");
    assert!(
        dead.description.contains("3 of 3") && dead.description.contains("fail-always broke"),
        "{}",
        dead.description
    );
    assert_eq!(
        dead.message.delivery_count, 1,
        "dead-lettered on first delivery"
    );
    assert_eq!(calls.lock().unwrap()["fail-always"], 3);
}

#[tokio::test]
async fn spent_retries_with_poison_abandon_leave_it_to_the_max_delivery_count() {
    let broker = broker(2);
    broker.send(QUEUE, Message::with_body("fail-always"));
    let calls = Arc::default();
    run_messages_until(
        &broker,
        failing(&calls),
        retrying(2, PoisonPolicy::Abandon),
        "the broker to dead-letter the message",
        |b| b.dead_letters(QUEUE).len() == 1,
    )
    .await;
    assert_eq!(
        broker.dead_letters(QUEUE)[0].reason,
        "MaxDeliveryCountExceeded"
    );
    assert_eq!(
        calls.lock().unwrap()["fail-always"],
        4,
        "2 attempts × 2 deliveries"
    );
}
