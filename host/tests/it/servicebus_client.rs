//! The AMQP client against the embedded broker (`berth-emulator`), started in-process on a
//! free port: send, accept (next and by id), receive in order, settle every way, session
//! state, lock renewal, peek, reconnect after a broker restart.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth::{ErrorKind, Message, Settlement};
use berth_host::runtime::{MessageSource, SessionSource, SourceSession, TriggerSettings};
use berth_host::servicebus::AmqpMessageSource;
use bytes::Bytes;

use crate::servicebus_support;
use servicebus_support::*;

#[tokio::test]
async fn sends_accepts_and_receives_a_session_in_order() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..5).map(|n| msg("s1", n)).collect();
    client.sender("orders").send_batch(&batch).await.unwrap();
    assert_eq!(counts(&broker, "orders").active, 5);

    let source = source(&client, "orders");
    let mut session = source.accept_next().await.unwrap().unwrap();
    assert_eq!(session.session_id(), "s1");
    assert!(session.locked_until().is_some());
    let mut last_sequence = 0;
    for n in 0..5 {
        let received = session.receive(WAIT).await.unwrap().unwrap();
        let m = &received.message;
        assert_eq!(m.body_str(), Some(format!("s1-{n}").as_str()));
        assert_eq!(m.message_id.as_deref(), Some(format!("s1-{n}").as_str()));
        assert_eq!(m.session_id.as_deref(), Some("s1"));
        assert_eq!(m.delivery_count, 1);
        assert!(m.sequence_number > last_sequence);
        assert!(m.enqueued_time.is_some());
        assert!(m.lock_token.is_some());
        assert_eq!(
            m.application_properties.get("n").and_then(|v| v.as_i64()),
            Some(i64::from(n))
        );
        last_sequence = m.sequence_number;
        session
            .settle(received.token, Settlement::Complete)
            .await
            .unwrap();
    }
    assert!(session
        .receive(Duration::from_millis(200))
        .await
        .unwrap()
        .is_none());
    session.release().await;
    let c = counts(&broker, "orders");
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn abandon_redelivers_with_a_higher_count_defer_and_dead_letter_move_it_aside() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..3).map(|n| msg("s1", n)).collect();
    client.sender("orders").send_batch(&batch).await.unwrap();
    let source = source(&client, "orders");
    let mut session = source.accept_next().await.unwrap().unwrap();

    let first = session.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(first.message.delivery_count, 1);
    session
        .settle(first.token, Settlement::abandon())
        .await
        .unwrap();
    let again = session.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(again.message.body_str(), Some("s1-0"));
    assert_eq!(again.message.delivery_count, 2);
    session
        .settle(again.token, Settlement::defer())
        .await
        .unwrap();

    let second = session.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(second.message.body_str(), Some("s1-1"));
    session
        .settle(
            second.token,
            Settlement::dead_letter("Poison", "cannot parse"),
        )
        .await
        .unwrap();
    let third = session.receive(WAIT).await.unwrap().unwrap();
    session
        .settle(third.token, Settlement::Complete)
        .await
        .unwrap();
    // Settling the same delivery twice is refused locally.
    let twice = session.settle(third.token, Settlement::Complete).await;
    assert_eq!(twice.unwrap_err().kind, ErrorKind::MessageLockLost);
    session.release().await;

    let c = counts(&broker, "orders");
    assert_eq!((c.active, c.deferred, c.dead_lettered), (0, 1, 1));

    // The dead-lettered message, read from the (non-session) dead-letter queue.
    let dlq = AmqpMessageSource::new(
        client.clone(),
        "orders/$DeadLetterQueue".into(),
        TriggerSettings::default().receiver(),
    );
    let dead = tokio::time::timeout(WAIT, dlq.receive())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(dead.message.body_str(), Some("s1-1"));
    assert_eq!(dead.message.dead_letter_reason.as_deref(), Some("Poison"));
    assert_eq!(
        dead.message.dead_letter_error_description.as_deref(),
        Some("cannot parse")
    );
    dlq.settle(dead.token, Settlement::Complete).await.unwrap();
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn session_state_lock_renewal_and_peek() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let sender = client.sender("orders");
    sender.send(&msg("s1", 0)).await.unwrap();
    sender.send(&msg("s1", 1)).await.unwrap();
    let source = source(&client, "orders");
    let mut session = source.accept_next().await.unwrap().unwrap();

    assert_eq!(session.get_state().await.unwrap(), None);
    session
        .set_state(Some(Bytes::from_static(b"step=1")))
        .await
        .unwrap();
    assert_eq!(
        session.get_state().await.unwrap(),
        Some(Bytes::from_static(b"step=1"))
    );
    let before = session.locked_until().unwrap();
    let renewed = session.renew_lock().await.unwrap();
    assert!(renewed >= before);
    assert_eq!(session.locked_until(), Some(renewed));

    let peeked = session.peek(1, 10).await.unwrap();
    let bodies: Vec<_> = peeked.iter().map(|m| m.body_str().unwrap()).collect();
    assert_eq!(bodies, ["s1-0", "s1-1"]);
    assert!(peeked.iter().all(|m| m.lock_token.is_none()));

    session.set_state(None).await.unwrap();
    assert_eq!(session.get_state().await.unwrap(), None);
    session.release().await;
    assert_eq!(counts(&broker, "orders").active, 2, "peeking locks nothing");
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn accepts_a_session_by_id_and_refuses_one_held_elsewhere() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let sender = client.sender("orders");
    sender.send(&msg("a", 0)).await.unwrap();
    sender.send(&msg("b", 0)).await.unwrap();
    let source = source(&client, "orders");

    let mut b = source.accept_session("b").await.unwrap().unwrap();
    assert_eq!(b.session_id(), "b");
    let received = b.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(received.message.body_str(), Some("b-0"));

    let refused = source.accept_session("b").await.err().unwrap();
    assert_eq!(refused.kind, ErrorKind::SessionCannotBeLocked);

    // Next-available skips the held session.
    let a = source.accept_next().await.unwrap().unwrap();
    assert_eq!(a.session_id(), "a");
    b.settle(received.token, Settlement::Complete)
        .await
        .unwrap();
    b.release().await;
    a.release().await;
    let c = counts(&broker, "orders");
    assert_eq!((c.active, c.locked), (1, 0));
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_non_session_source_receives_and_settles_concurrently() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..6)
        .map(|n| Message::with_body(format!("m{n}")))
        .collect();
    client.sender("plain").send_batch(&batch).await.unwrap();
    let settings = TriggerSettings {
        max_concurrent_calls: 3,
        ..TriggerSettings::default()
    };
    let source = AmqpMessageSource::new(client.clone(), "plain".into(), settings.receiver());
    let mut bodies = Vec::new();
    for _ in 0..6 {
        let received = tokio::time::timeout(WAIT, source.receive())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert!(received.message.lock_token.is_some());
        assert!(received.message.locked_until.is_some());
        bodies.push(received.message.body_str().unwrap().to_owned());
        source
            .settle(received.token, Settlement::Complete)
            .await
            .unwrap();
    }
    bodies.sort();
    assert_eq!(bodies, ["m0", "m1", "m2", "m3", "m4", "m5"]);
    client.close().await;
    assert_eq!(counts(&broker, "plain").active, 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_message_without_session_id_is_refused_by_a_session_queue() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let err = client
        .sender("orders")
        .send(&Message::with_body("no session"))
        .await
        .unwrap_err();
    assert!(err.message.contains("SessionId"), "{err}");
    // The link stays usable.
    client.sender("orders").send(&msg("s1", 0)).await.unwrap();
    assert_eq!(counts(&broker, "orders").active, 1);
    client.close().await;
    broker.shutdown().await;
}
