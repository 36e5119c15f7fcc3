//! Losing the broker: it stops and a new one starts on the same port with the same data
//! directory; the client reconnects, the session that was open is dropped (not settled), and
//! its messages come back in order.
#![allow(clippy::unwrap_used)]

use berth::Settlement;
use berth_host::runtime::{SessionSource, SourceSession};

mod servicebus_support;
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
    assert!(failed.error.message.contains("not connected"), "{failed}");
    client.close().await;
}
