//! Settlements are known, not assumed: against the embedded broker, a settlement is `Ok`
//! and counted only once the broker confirmed it; a refusal is the broker's error (not
//! counted), and a connection lost before the verdict is an error too. A session whose
//! settlement is not confirmed stops: its next message is not handed out.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{CancellationToken, ErrorKind, HandlerError, Message, Settlement};
use berth_host::ops::Metrics;
use berth_host::runtime::session_pump::{self, SessionEnd};
use berth_host::runtime::{
    message_pump, Entity, EntityGroup, FunctionSpec, SessionSource, SourceSession, TriggerSettings,
};
use berth_host::servicebus::{AmqpMessageSource, AmqpSession, ConnectionString, ServiceBusClient};

use crate::servicebus_support;
use crate::servicebus_support::cut;
use crate::wait;
use servicebus_support::*;

const SHORT_LOCKS: &str = r#"
[[queues]]
name = "sessions"
requires_session = true
lock_duration = "2s"
max_delivery_count = 10

[[queues]]
name = "plain"
lock_duration = "2s"
max_delivery_count = 10
"#;

/// How long a test waits for something that should happen.
const LIMIT: Duration = Duration::from_secs(20);

fn group(
    entity: &str,
    sessions: bool,
    handler: BoxedHandler,
    settings: TriggerSettings,
) -> (Arc<EntityGroup>, Metrics) {
    let spec = Arc::new(FunctionSpec {
        name: "verdicts".into(),
        entity: Entity::Queue(entity.into()),
        connection: "ServiceBusConnection".into(),
        sessions,
        settings,
        handler,
    });
    let metrics = Metrics::new();
    (
        Arc::new(EntityGroup::single(spec).with_metrics(&metrics)),
        metrics,
    )
}

/// The value of the `name` sample whose labels include `label`, 0 when absent.
fn sample(metrics: &Metrics, name: &str, label: &str) -> f64 {
    let mut text = String::new();
    metrics.encode(&mut text).unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

fn completed(metrics: &Metrics) -> f64 {
    sample(
        metrics,
        "berth_messages_settled_total",
        "settlement=\"completed\"",
    )
}

/// Polls `done` until it holds, failing with `what` after [`LIMIT`].
async fn until(what: &str, done: impl FnMut() -> bool) {
    wait::poll_until(what, LIMIT, done, || "the condition still false").await;
}

/// Accepts the next session of `sessions` and pumps it to its end with `handler`.
async fn pump_one_session(
    client: &ServiceBusClient,
    handler: BoxedHandler,
) -> (session_pump::SessionSummary, Metrics) {
    let (group, metrics) = group("sessions", true, handler, idle_settings());
    let session = source(client, "sessions")
        .accept_next()
        .await
        .unwrap()
        .unwrap();
    let summary = session_pump::run_group(group, session, CancellationToken::new()).await;
    (summary, metrics)
}

/// Closes the clients, then stops the broker.
async fn shut(broker: berth_emulator::broker::RunningBroker, clients: &[&ServiceBusClient]) {
    for client in clients {
        client.close().await;
    }
    broker.shutdown().await;
}

fn idle_settings() -> TriggerSettings {
    TriggerSettings {
        session_idle_timeout: Duration::from_millis(500),
        ..TriggerSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_the_broker_confirms_are_ok_and_counted() {
    let broker = start(SHORT_LOCKS).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..3).map(|n| msg("s", n)).collect();
    client.sender("sessions").send_batch(&batch).await.unwrap();
    let handler = BoxedHandler::new(|_: Message| async { Ok::<(), HandlerError>(()) });
    let (summary, metrics) = pump_one_session(&client, handler).await;
    assert_eq!((summary.invocations, summary.end), (3, SessionEnd::Idle));
    assert_eq!(completed(&metrics), 3.0);
    let c = counts(&broker, "sessions");
    assert_eq!(
        (c.active, c.locked),
        (0, 0),
        "the broker completed all three"
    );
    shut(broker, &[&client]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completion_after_another_receiver_took_the_session_is_refused() {
    let broker = start(SHORT_LOCKS).await;
    let (first, second) = (client(&broker).await, client(&broker).await);
    let mut stale = accept_one(&first).await;
    let received = stale.receive(WAIT).await.unwrap().unwrap();
    // Nobody renews; another receiver takes the session once the lock has run out.
    let mut taken = take_over(&second).await;
    let again = taken.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(again.message.delivery_count, 2);
    let err = stale
        .settle(received.token, Settlement::Complete)
        .await
        .expect_err("the session belongs to another receiver now");
    assert_eq!(err.kind, ErrorKind::SessionLockLost, "{err}");
    assert_eq!(
        counts(&broker, "sessions").locked,
        1,
        "still locked by the new owner"
    );
    taken
        .settle(again.token, Settlement::Complete)
        .await
        .unwrap();
    assert_eq!(counts(&broker, "sessions").active, 0);
    stale.release().await;
    taken.release().await;
    shut(broker, &[&first, &second]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_completion_is_not_counted() {
    let broker = start(SHORT_LOCKS).await;
    let client = client(&broker).await;
    client
        .sender("plain")
        .send(&Message::with_body("slow"))
        .await
        .unwrap();
    // The first delivery outlives its 2 s lock (renewal is off); the second is quick.
    let handler = BoxedHandler::new(|m: Message| async move {
        if m.delivery_count == 1 {
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
        Ok::<(), HandlerError>(())
    });
    let settings = TriggerSettings {
        max_auto_lock_renewal_duration: Duration::ZERO,
        max_concurrent_calls: 2,
        ..TriggerSettings::default()
    };
    let (group, metrics) = group("plain", false, handler, settings);
    let source = Arc::new(AmqpMessageSource::new(
        client.clone(),
        "plain".into(),
        group.settings.receiver(),
    ));
    let shutdown = CancellationToken::new();
    let pump = tokio::spawn(message_pump::run_group(group, source, shutdown.clone()));
    let lost = || sample(&metrics, "berth_lock_losses_total", "verdicts");
    until(
        "the late completion's refusal and the redelivery's completion",
        || lost() == 1.0 && completed(&metrics) == 1.0,
    )
    .await;
    shutdown.cancel();
    assert_eq!(pump.await.unwrap(), 2, "two deliveries of one message");
    assert_eq!(
        completed(&metrics),
        1.0,
        "only the confirmed completion counts"
    );
    let c = counts(&broker, "plain");
    assert_eq!((c.active, c.locked), (0, 0));
    shut(broker, &[&client]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_before_the_verdict_stops_the_session_unsettled() {
    let broker = start(SHORT_LOCKS).await;
    let direct = client(&broker).await;
    let batch: Vec<Message> = (0..2).map(|n| msg("s", n)).collect();
    direct.sender("sessions").send_batch(&batch).await.unwrap();

    let proxy = cut::CutProxy::start(broker.local_addr()).await;
    let through = broker
        .connection_string()
        .replace(&broker.local_addr().to_string(), &proxy.address.to_string());
    let client = ServiceBusClient::connect(ConnectionString::parse(&through).unwrap())
        .await
        .unwrap();
    let invoked = Arc::new(AtomicU32::new(0));
    let handler = {
        let (invoked, switch) = (invoked.clone(), proxy.switch());
        BoxedHandler::new(move |_: Message| {
            invoked.fetch_add(1, Ordering::SeqCst);
            // The connection is cut as this message's completion goes out.
            switch.store(true, Ordering::SeqCst);
            async { Ok::<(), HandlerError>(()) }
        })
    };
    let (summary, metrics) = pump_one_session(&client, handler).await;
    tokio::time::timeout(LIMIT, proxy.cut())
        .await
        .expect("the proxy never cut");
    assert_eq!(summary.end, SessionEnd::LockLost, "{summary:?}");
    assert_eq!(
        summary.invocations, 1,
        "the next message was not handed out"
    );
    assert_eq!(invoked.load(Ordering::SeqCst), 1);
    assert_eq!(
        completed(&metrics),
        0.0,
        "nothing the broker did not confirm is counted"
    );
    until("both messages back in the queue", || {
        let c = counts(&broker, "sessions");
        (c.active, c.locked) == (2, 0)
    })
    .await;
    shut(broker, &[&client, &direct]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_whose_session_was_taken_can_neither_renew_its_lock_nor_write_its_state() {
    // The host's proof of its lock before invoking is a renewal: it must fail once another
    // receiver holds the session, or a resumed host would run stale messages.
    let broker = start(SHORT_LOCKS).await;
    let (first, second) = (client(&broker).await, client(&broker).await);
    let mut stale = accept_one(&first).await;
    stale
        .renew_lock()
        .await
        .expect("the holder renews its lock");
    stale
        .set_state(Some("mine".into()))
        .await
        .expect("the holder writes the state");
    // Nobody renews; another receiver takes the session once the lock has run out.
    let mut taken = take_over(&second).await;
    let err = stale
        .renew_lock()
        .await
        .expect_err("the lock belongs to another receiver now");
    assert_eq!(err.kind, ErrorKind::SessionLockLost, "{err}");
    let err = stale
        .set_state(Some("stale".into()))
        .await
        .expect_err("the state belongs to the new holder");
    assert_eq!(err.kind, ErrorKind::SessionLockLost, "{err}");
    assert_eq!(
        taken.get_state().await.unwrap().as_deref(),
        Some(&b"mine"[..]),
        "the stale write did not land"
    );
    taken.renew_lock().await.expect("the new holder renews");
    let again = taken.receive(WAIT).await.unwrap().unwrap();
    taken
        .settle(again.token, Settlement::Complete)
        .await
        .unwrap();
    stale.release().await;
    taken.release().await;
    shut(broker, &[&first, &second]).await;
}

/// Sends one message to session "s" and accepts the session through `client`.
async fn accept_one(client: &ServiceBusClient) -> AmqpSession {
    client.sender("sessions").send(&msg("s", 0)).await.unwrap();
    source(client, "sessions")
        .accept_next()
        .await
        .unwrap()
        .unwrap()
}

/// Accepts session "s" through `client` once its lock has run out elsewhere.
async fn take_over(client: &ServiceBusClient) -> AmqpSession {
    let taken = source(client, "sessions")
        .accept_next()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.session_id(), "s");
    taken
}
