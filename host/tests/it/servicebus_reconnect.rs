//! Losing the broker: it stops and a new one starts on the same port with the same data
//! directory; the client reconnects, the session that was open is dropped (not settled), and
//! its messages come back in order. A send while the broker is gone ends at its timeout, and
//! the accept loop's retry backoff starts over after each cut instead of growing while the
//! queue is idle.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{HandlerError, Message, Settlement};
use berth_host::runtime::{acceptor, SessionSource, SourceSession, TriggerSettings};
use berth_host::servicebus::AmqpSessionSource;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::e2e_support;
use crate::servicebus_support;
use crate::wait;
use servicebus_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_reconnects_after_a_broker_restart() {
    let dir = temp_dir("reconnect");
    let broker = start_at("127.0.0.1:0", ENTITIES, Some(&dir)).await;
    let address = broker.local_addr().to_string();
    let client = client(&broker).await;
    let sender = client.sender("orders");
    sender.send(&msg("s1", 0)).await.unwrap();
    let source = source(&client, "orders");
    let mut open = source.accept_next().await.unwrap().unwrap();
    let unsettled = open.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(unsettled.message.body_str(), Some("s1-0"));

    broker.shutdown().await;
    let broker = start_at(&address, ENTITIES, Some(&dir)).await;

    // The open session's link died with the connection: it reports an error and is dropped.
    let err = open
        .receive(WAIT)
        .await
        .expect_err("the old link must fail");
    assert!(
        matches!(
            err.kind,
            berth::ErrorKind::Connection | berth::ErrorKind::SessionLockLost
        ),
        "{err}"
    );
    open.release().await;

    // The same sender and source work again on a new connection.
    sender.send(&msg("s1", 1)).await.unwrap();
    let mut session = source.accept_next().await.unwrap().unwrap();
    assert_eq!(session.session_id(), "s1");
    for n in 0..2 {
        let received = session.receive(WAIT).await.unwrap().unwrap();
        assert_eq!(
            received.message.body_str(),
            Some(format!("s1-{n}").as_str())
        );
        session
            .settle(received.token, Settlement::Complete)
            .await
            .unwrap();
    }
    session.release().await;
    assert_eq!(counts(&broker, "orders").active, 0);
    client.close().await;
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_while_the_broker_is_gone_fails_within_its_timeout_instead_of_hanging() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let sender = client
        .sender("orders")
        .with_timeout(std::time::Duration::from_secs(2));
    sender.send(&msg("s1", 0)).await.unwrap();
    broker.shutdown().await;

    // The link is gone and reconnecting is refused: the send gives up at its deadline.
    let failed = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        sender.send_batch_counted(&[msg("s1", 1), msg("s1", 2)]),
    )
    .await
    .expect("the send must end by itself")
    .expect_err("nothing can be sent");
    assert_eq!(failed.accepted, 0, "{failed}");
    assert!(
        matches!(
            failed.error.kind,
            berth::ErrorKind::Timeout | berth::ErrorKind::Connection
        ),
        "{failed}"
    );
    // Whether the client learnt that the broker went away before this send or during it is
    // a race; either way the error says the connection is the problem.
    assert!(
        failed.error.message.contains("not connected")
            || failed.error.message.contains("connection to"),
        "{failed}"
    );
    client.close().await;
}

/// Waits (polling, at most 30 s) until the broker has answered an accept of `source` since
/// `before` answers.
async fn answered_since(source: &AmqpSessionSource, before: u64) {
    wait::poll_until(
        "the broker to answer an accept",
        wait::LIMIT,
        || source.working_accepts() > before,
        || format!("{} answered accepts", source.working_accepts()),
    )
    .await;
}

/// Starts the broker again on `address`, polling (at most 30 s) while the old one's accepted
/// connections still hold the port.
async fn restart_at(address: &str) -> berth_emulator::broker::RunningBroker {
    let what = format!("the broker to listen on {address} again");
    wait::poll(&what, wait::LIMIT, || {
        berth_emulator::broker::Broker::builder()
            .address(address.parse().unwrap())
            .entities_toml(ENTITIES)
            .unwrap()
            .start()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cuts_on_an_idle_queue_do_not_grow_the_accept_backoff() {
    const CUTS: usize = 8;
    logged();
    let mut broker = start(ENTITIES).await;
    let address = broker.local_addr().to_string();
    let client = client(&broker).await;
    // The broker answers "no session yet" every 200 ms: the queue stays idle throughout.
    let source = Arc::new(
        AmqpSessionSource::new(client.clone(), "orders".into(), 0)
            .with_accept_timeout(Duration::from_millis(200)),
    );
    let handler = BoxedHandler::new(|_m: Message| async { Ok::<(), HandlerError>(()) });
    let spec = e2e_support::spec("orders", TriggerSettings::default(), handler);
    let stop = CancellationToken::new();
    // Other tests of this binary log failed accepts too: this test's lines carry `test`.
    let trigger = tokio::spawn(
        acceptor::run(spec, source.clone(), stop.clone())
            .instrument(tracing::info_span!("idle_cuts", test = "idle_cuts")),
    );

    for _ in 0..CUTS {
        // Accepting works on this connection; then the connection is cut.
        answered_since(&source, source.working_accepts()).await;
        broker.shutdown().await;
        broker = restart_at(&address).await;
    }
    answered_since(&source, source.working_accepts()).await;
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), trigger)
        .await
        .unwrap()
        .unwrap();

    let text = String::from_utf8(logged().lock().unwrap().clone()).unwrap();
    let attempts: Vec<u64> = text
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| line["message"] == "accepting a session failed")
        .filter(|line| line["test"] == "idle_cuts")
        .map(|line| line["attempt"].as_u64().unwrap())
        .collect();
    // Each cut that caught an accept at the broker failed it; none counts on from the last.
    assert!(
        attempts.len() >= 2,
        "too few failed accepts to tell: {text}"
    );
    assert!(attempts.iter().all(|&a| a == 1), "{attempts:?}");
    client.close().await;
    broker.shutdown().await;
}
