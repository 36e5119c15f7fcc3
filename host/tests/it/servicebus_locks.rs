//! Message locks of a trigger without sessions are renewed while the message is in hand: a
//! message held for longer than its lock duration is still completed (not redelivered);
//! settling after the lock ran out reports the lost lock.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth::Settlement;
use berth_host::runtime::{MessageSource, TriggerSettings};
use berth_host::servicebus::AmqpMessageSource;

use crate::servicebus_support;
use servicebus_support::*;

const SHORT_LOCKS: &str = r#"
[[queues]]
name = "short"
lock_duration = "2s"
max_delivery_count = 5
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_message_keeps_its_lock_until_settled() {
    let broker = start(SHORT_LOCKS).await;
    let client = client(&broker).await;
    client
        .sender("short")
        .send(&berth::Message::with_body("slow work"))
        .await
        .unwrap();
    let source = AmqpMessageSource::new(
        client.clone(),
        "short".into(),
        TriggerSettings::default().receiver(),
    );
    let received = tokio::time::timeout(WAIT, source.receive())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(received.message.delivery_count, 1);
    // The handler "works" for two and a half lock durations; without renewal the lock would
    // expire and the broker would hand the message out again.
    tokio::time::sleep(Duration::from_secs(5)).await;
    source
        .settle(received.token, Settlement::Complete)
        .await
        .unwrap();
    client.close().await;
    // Had the lock expired, the broker would have refused the completion (and redelivered).
    let c = counts(&broker, "short");
    assert_eq!((c.active, c.locked), (0, 0));
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_after_the_lock_ran_out_reports_the_lost_lock() {
    let broker = start(SHORT_LOCKS).await;
    let client = client(&broker).await;
    client
        .sender("short")
        .send(&berth::Message::with_body("too slow"))
        .await
        .unwrap();
    let no_renewal = TriggerSettings {
        max_auto_lock_renewal_duration: Duration::ZERO,
        ..TriggerSettings::default()
    };
    let source = AmqpMessageSource::new(client.clone(), "short".into(), no_renewal.receiver());
    let received = tokio::time::timeout(WAIT, source.receive())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let err = source
        .settle(received.token, Settlement::Complete)
        .await
        .unwrap_err();
    assert_eq!(err.kind, berth::ErrorKind::MessageLockLost, "{err}");
    client.close().await;
    assert_eq!(
        counts(&broker, "short").active,
        1,
        "the message was not completed"
    );
    broker.shutdown().await;
}

const SHORT_SESSION_LOCKS: &str = r#"
[[queues]]
name = "short-sessions"
requires_session = true
lock_duration = "2s"
max_delivery_count = 5
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settling_after_the_session_lock_ran_out_reports_the_lost_lock() {
    use berth_host::runtime::{SessionSource, SourceSession};

    let broker = start(SHORT_SESSION_LOCKS).await;
    let client = client(&broker).await;
    client
        .sender("short-sessions")
        .send(&msg("s", 0))
        .await
        .unwrap();
    let source = source(&client, "short-sessions");
    let mut session = source.accept_next().await.unwrap().unwrap();
    let received = session.receive(WAIT).await.unwrap().unwrap();
    // Nobody renews: wait for the broker's clock to pass the lock's expiry (the expiry itself
    // is the event).
    let until = session.locked_until().unwrap();
    let left = until
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(left + Duration::from_millis(500)).await;
    let err = session
        .settle(received.token, Settlement::Complete)
        .await
        .expect_err("the lock is gone: completing must fail, not vanish");
    assert_eq!(err.kind, berth::ErrorKind::SessionLockLost, "{err}");
    session.release().await;
    // The message was not completed: it is there for the next receiver.
    let mut again = source.accept_next().await.unwrap().unwrap();
    let redelivered = again.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(redelivered.message.body_str(), Some("s-0"));
    assert_eq!(redelivered.message.delivery_count, 2, "the expiry counted");
    again
        .settle(redelivered.token, Settlement::Complete)
        .await
        .unwrap();
    again.release().await;
    assert_eq!(counts(&broker, "short-sessions").active, 0);
    client.close().await;
    broker.shutdown().await;
}
