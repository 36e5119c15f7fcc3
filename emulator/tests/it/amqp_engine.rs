//! The AMQP engine driven by the real fe2o3-amqp client.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use crate::amqp_support;
use crate::wait::within;

use std::sync::Arc;

use amqp_support::{tag_for, Seen, TestBroker};
use berth_emulator::amqp::{ConnectionConfig, Outcome, PlainCredentials, SaslPolicy};
use fe2o3_amqp::{
    connection::{Connection, ConnectionHandle},
    link::{receiver::CreditMode, Receiver, Sender},
    sasl_profile::SaslProfile,
    session::{Session, SessionHandle},
};
use fe2o3_amqp_types::{
    definitions::{self, AmqpError, ReceiverSettleMode},
    messaging::Outcome as ClientOutcome,
};

/// Connects without SASL and begins one session.
async fn connect(broker: &TestBroker, name: &str) -> (ConnectionHandle<()>, SessionHandle<()>) {
    let mut connection = Connection::open(name, broker.url().as_str()).await.unwrap();
    let session = Session::begin(&mut connection).await.unwrap();
    (connection, session)
}

async fn round_trip(connection: &mut ConnectionHandle<()>, queue: &str, body: &str) -> Vec<u8> {
    let mut session = Session::begin(connection).await.unwrap();
    let mut sender = Sender::attach(&mut session, "sender", queue).await.unwrap();
    let outcome = sender.send(body.to_owned()).await.unwrap();
    assert!(matches!(outcome, ClientOutcome::Accepted(_)), "{outcome:?}");
    let mut receiver = Receiver::attach(&mut session, "receiver", queue)
        .await
        .unwrap();
    let delivery = within("a delivery", receiver.recv::<String>())
        .await
        .unwrap();
    assert_eq!(delivery.body(), body);
    receiver.accept(&delivery).await.unwrap();
    let tag = delivery.delivery_tag().to_vec();
    sender.close().await.unwrap();
    receiver.close().await.unwrap();
    session.end().await.unwrap();
    tag
}

#[tokio::test]
async fn anonymous_plain_and_sasl_less_clients_connect_and_exchange_messages() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;

    let mut anon = Connection::builder()
        .container_id("anon")
        .sasl_profile(SaslProfile::Anonymous)
        .open(broker.url().as_str())
        .await
        .unwrap();
    let peer = broker.next_open().await;
    assert_eq!(
        (peer.container_id.as_str(), peer.sasl_mechanism.as_deref()),
        ("anon", Some("ANONYMOUS"))
    );
    assert_eq!(round_trip(&mut anon, "q-anon", "one").await, tag_for(1));
    anon.close().await.unwrap();

    let plain_url = format!(
        "amqp://keyname:secret@127.0.0.1:{}",
        broker.listener.local_addr().port()
    );
    let mut plain = Connection::builder()
        .container_id("plain")
        .open(plain_url.as_str())
        .await
        .unwrap();
    let peer = broker.next_open().await;
    assert_eq!(
        (
            peer.sasl_mechanism.as_deref(),
            peer.sasl_identity.as_deref()
        ),
        (Some("PLAIN"), Some("keyname"))
    );
    assert_eq!(round_trip(&mut plain, "q-plain", "two").await, tag_for(2));
    plain.close().await.unwrap();

    let mut bare = Connection::builder()
        .container_id("bare")
        .open(broker.url().as_str())
        .await
        .unwrap();
    let peer = broker.next_open().await;
    assert_eq!(
        (peer.container_id.as_str(), peer.sasl_mechanism),
        ("bare", None)
    );
    assert_eq!(round_trip(&mut bare, "q-bare", "three").await, tag_for(3));
    bare.close().await.unwrap();
}

#[tokio::test]
async fn plain_credentials_are_checked_by_the_policy() {
    let config = ConnectionConfig {
        sasl: SaslPolicy {
            plain_check: Some(Arc::new(|c: &PlainCredentials| c.password == "right")),
            ..SaslPolicy::default()
        },
        ..ConnectionConfig::default()
    };
    let broker = TestBroker::start(config).await;
    let port = broker.listener.local_addr().port();
    let wrong = Connection::open(
        "wrong",
        format!("amqp://user:wrong@127.0.0.1:{port}").as_str(),
    )
    .await;
    assert!(wrong.is_err(), "a wrong password must fail SASL");
    let mut right = Connection::open(
        "right",
        format!("amqp://user:right@127.0.0.1:{port}").as_str(),
    )
    .await
    .unwrap();
    right.close().await.unwrap();
}

#[tokio::test]
async fn large_messages_are_split_both_ways_and_custom_tags_reach_the_client() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    // A small client frame size forces our sender to split as well.
    let mut connection = Connection::builder()
        .container_id("big")
        .max_frame_size(16 * 1024)
        .open(broker.url().as_str())
        .await
        .unwrap();
    let mut session = Session::begin(&mut connection).await.unwrap();
    let mut sender = Sender::attach(&mut session, "s", "big").await.unwrap();
    let big: String = (0..700_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    for body in ["small", big.as_str()] {
        let outcome = sender.send(body.to_owned()).await.unwrap();
        assert!(matches!(outcome, ClientOutcome::Accepted(_)));
    }
    let lens: Vec<usize> = vec![
        broker.next_transfer_len().await,
        broker.next_transfer_len().await,
    ];
    assert!(lens[0] < 100 && lens[1] > 700_000, "{lens:?}");

    let mut receiver = Receiver::attach(&mut session, "r", "big").await.unwrap();
    for (n, body) in [(1u64, "small"), (2, big.as_str())] {
        let delivery = within("a delivery", receiver.recv::<String>())
            .await
            .unwrap();
        assert_eq!(delivery.body(), body);
        assert_eq!(delivery.delivery_tag().as_slice(), &tag_for(n));
        receiver.accept(&delivery).await.unwrap();
    }
    connection.close().await.unwrap();
}

#[tokio::test]
async fn second_mode_dispositions_reach_the_handler_with_their_outcomes() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    for body in ["a", "b", "c"] {
        broker.broker.push("settle", encoded_string_message(body));
    }
    let (connection, mut session) = connect(&broker, "settle").await;
    let mut receiver = Receiver::builder()
        .name("second")
        .source("settle")
        .receiver_settle_mode(ReceiverSettleMode::Second)
        .attach(&mut session)
        .await
        .unwrap();
    let a = within("a delivery", receiver.recv::<String>())
        .await
        .unwrap();
    let b = within("a delivery", receiver.recv::<String>())
        .await
        .unwrap();
    let c = within("a delivery", receiver.recv::<String>())
        .await
        .unwrap();
    receiver.accept(&a).await.unwrap();
    let error = definitions::Error::new(AmqpError::NotAllowed, Some("dead".to_owned()), None);
    receiver.reject(&b, error).await.unwrap();
    receiver.release(&c).await.unwrap();

    let mut updates = Vec::new();
    while updates.len() < 3 {
        updates.push(broker.next_disposition().await);
    }
    updates.sort_by_key(|u| u.delivery_id);
    assert!(
        updates.iter().all(|u| !u.settled),
        "rcv-settle-mode second leaves them unsettled"
    );
    assert_eq!(updates[0].outcome, Some(Outcome::Accepted));
    match &updates[1].outcome {
        Some(Outcome::Rejected(Some(e))) => assert_eq!(
            (e.condition.as_str(), e.description.as_deref()),
            ("amqp:not-allowed", Some("dead"))
        ),
        other => panic!("expected rejected with error, got {other:?}"),
    }
    assert_eq!(updates[2].outcome, Some(Outcome::Released));
    assert_eq!(updates[1].tag.as_bytes(), &tag_for(2));
    close_after_barrier(connection, session).await;
}

#[tokio::test]
async fn drain_sends_what_is_there_then_finishes() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    let (connection, mut session) = connect(&broker, "drain").await;
    let mut receiver = Receiver::builder()
        .name("drainer")
        .source("drain-q")
        .credit_mode(CreditMode::Manual)
        .attach(&mut session)
        .await
        .unwrap();
    broker.broker.push("drain-q", encoded_string_message("x"));
    broker.broker.push("drain-q", encoded_string_message("y"));
    receiver.set_credit(5).await.unwrap();
    receiver.drain().await.unwrap();
    broker
        .wait_for(|s| {
            if let Seen::DrainFinished { .. } = s {
                Some(())
            } else {
                None
            }
        })
        .await;
    for body in ["x", "y"] {
        let d = within("a delivery", receiver.recv::<String>())
            .await
            .unwrap();
        assert_eq!(d.body(), body);
        receiver.accept(&d).await.unwrap();
    }
    assert_eq!(broker.broker.len("drain-q"), 0);
    close_after_barrier(connection, session).await;
}

#[tokio::test]
async fn many_sessions_and_links_share_one_connection() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let mut connection = Connection::open("many", broker.url().as_str())
        .await
        .unwrap();
    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(Session::begin(&mut connection).await.unwrap());
    }
    let mut pairs = Vec::new();
    for (s, session) in sessions.iter_mut().enumerate() {
        for l in 0..4 {
            let queue = format!("q-{s}-{l}");
            let sender = Sender::attach(session, format!("s-{s}-{l}"), queue.as_str())
                .await
                .unwrap();
            let receiver = Receiver::attach(session, format!("r-{s}-{l}"), queue.as_str())
                .await
                .unwrap();
            pairs.push((queue, sender, receiver));
        }
    }
    for (queue, sender, _) in &mut pairs {
        for i in 0..3 {
            sender.send(format!("{queue}/{i}")).await.unwrap();
        }
    }
    for (queue, _, receiver) in &mut pairs {
        for i in 0..3 {
            let d = within("a delivery", receiver.recv::<String>())
                .await
                .unwrap();
            assert_eq!(d.body(), &format!("{queue}/{i}"));
            receiver.accept(&d).await.unwrap();
        }
    }
    // A refusal is attach + detach(closed, error): the client sees the error on its link.
    let mut refused = Receiver::attach(&mut sessions[0], "nope", "refuse-me")
        .await
        .unwrap();
    let error = within("the refusal", refused.recv::<String>())
        .await
        .unwrap_err();
    assert!(format!("{error:?}").contains("no such queue"), "{error:?}");
    // The connection survives the refusal (late frames for the refused handle are ignored).
    let (queue, sender, receiver) = &mut pairs[0];
    sender.send(format!("{queue}/after")).await.unwrap();
    let d = within("a delivery", receiver.recv::<String>())
        .await
        .unwrap();
    assert_eq!(d.body(), &format!("{queue}/after"));
    receiver.accept(&d).await.unwrap();
    connection.close().await.unwrap();
}

/// Closes the connection once every frame we wrote before has reached the client.
///
/// fe2o3 fails `close()` when one of our session frames (an echoed disposition, a drain
/// flow) crosses its close on the wire; an attach round trip is answered after them.
async fn close_after_barrier(mut connection: ConnectionHandle<()>, mut session: SessionHandle<()>) {
    let barrier = Sender::attach(&mut session, "barrier", "barrier")
        .await
        .unwrap();
    barrier.close().await.unwrap();
    connection.close().await.unwrap();
}

/// An encoded AMQP message whose only section is an amqp-value string body.
pub fn encoded_string_message(body: &str) -> bytes::Bytes {
    let mut buf = vec![0x00, 0x53, 0x77];
    match u8::try_from(body.len()) {
        Ok(len) => buf.extend_from_slice(&[0xa1, len]),
        Err(_) => {
            buf.push(0xb1);
            buf.extend_from_slice(&(body.len() as u32).to_be_bytes());
        }
    }
    buf.extend_from_slice(body.as_bytes());
    buf.into()
}

#[tokio::test]
async fn a_held_attach_is_answered_later_while_other_links_keep_working() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    broker
        .broker
        .push("hold-q", encoded_string_message("held-1"));
    let (mut connection, held_session) = connect(&broker, "hold").await;
    let held = tokio::spawn(async move {
        let mut session = held_session;
        let mut receiver = Receiver::attach(&mut session, "held", "hold-q")
            .await
            .unwrap();
        let d = within("a delivery", receiver.recv::<String>())
            .await
            .unwrap();
        receiver.accept(&d).await.unwrap();
        (session, d.body().clone())
    });
    broker
        .wait_for(|s| matches!(s, Seen::Held).then_some(()))
        .await;
    // The connection keeps serving other sessions while the attach waits.
    let tag = round_trip(&mut connection, "meanwhile", "still served").await;
    assert_eq!(tag, tag_for(1));
    assert!(!held.is_finished());
    broker.broker.release_held();
    let (session, body) = held.await.unwrap();
    assert_eq!(body, "held-1");
    close_after_barrier(connection, session).await;
}

#[tokio::test]
async fn a_broken_connection_does_not_disturb_another() {
    use amqp_support::raw::{frame, open, raw_frame, RawClient, AMQP_HEADER};
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    let port = broker.listener.local_addr().port();
    let (mut good, session) = connect(&broker, "good").await;
    broker.next_open().await;

    let (mut garbage, _) = RawClient::opened(port, None).await;
    garbage
        .write(&raw_frame(0, 0, &[0x00, 0x53, 0x10, 0xc0, 0x00, 0x00]))
        .await;
    assert_eq!(garbage.expect_close().await.0, "amqp:decode-error");

    let mut truncated = RawClient::connect(port).await;
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(frame(0, &open("truncated", None), &[]));
    bytes.extend_from_slice(&[0, 0, 1, 0, 2, 0, 0, 0, 0x00, 0x53]); // a 256-byte frame, cut short
    truncated.write(&bytes).await;
    drop(truncated);
    let mut closes = Vec::new();
    while closes.len() < 2 {
        closes.push(
            broker
                .wait_for(|s| {
                    if let Seen::Close(e) = s {
                        Some(e)
                    } else {
                        None
                    }
                })
                .await,
        );
    }
    let conditions: Vec<String> = closes.into_iter().map(|e| e.unwrap().condition).collect();
    assert!(
        conditions.contains(&"amqp:decode-error".to_owned()),
        "{conditions:?}"
    );
    assert!(
        conditions.contains(&"amqp:connection:forced".to_owned()),
        "{conditions:?}"
    );

    assert_eq!(round_trip(&mut good, "still-fine", "ok").await, tag_for(1));
    close_after_barrier(good, session).await;
}
