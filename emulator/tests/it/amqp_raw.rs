//! The AMQP engine driven byte by byte: pipelining, exact disposition and flow frames,
//! lenient decoding, heartbeats, idle timeouts and malformed input.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use crate::amqp_support;

use std::time::Duration;

use amqp_support::{
    raw::{
        attach, begin, condition_text, frame, link_flow, open, raw_frame, transfer, RawClient,
        AMQP_HEADER,
    },
    tag_for, Seen, TestBroker,
};
use berth_emulator::amqp::{ConnectionConfig, Outcome};
use bytes::Bytes;
use fe2o3_amqp_types::{
    definitions::Role,
    messaging::{Accepted, DeliveryState},
    performatives::{Disposition, Performative},
};
use serde_amqp::{described::Described, descriptor::Descriptor, primitives::OrderedMap, Value};

fn described(code: u64, items: Vec<Value>) -> Value {
    Value::Described(Box::new(Described {
        descriptor: Descriptor::Code(code),
        value: Value::List(items),
    }))
}

#[tokio::test]
async fn pipelined_frames_are_answered_and_dispositions_coalesce_into_ranges() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    broker
        .broker
        .push("pipe", Bytes::from_static(b"\x00\x53\x77\xa1\x01a"));
    broker
        .broker
        .push("pipe", Bytes::from_static(b"\x00\x53\x77\xa1\x01b"));
    let mut c = RawClient::connect(broker.listener.local_addr().port()).await;
    // Everything in one write, as Python does.
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(frame(0, &open("pipelined", None), &[]));
    bytes.extend(frame(0, &begin(), &[]));
    bytes.extend(frame(0, &attach("recv", 0, Role::Receiver, "pipe"), &[]));
    bytes.extend(frame(0, &attach("send", 1, Role::Sender, "pipe-in"), &[]));
    bytes.extend(frame(0, &link_flow(0, None, 10, false), &[]));
    c.write(&bytes).await;

    assert_eq!(c.read_header().await, Some(AMQP_HEADER));
    let (mut tags, mut attaches, mut sender_credit) = (Vec::new(), 0, None);
    while tags.len() < 2 || attaches < 2 || sender_credit.is_none() {
        match c.next().await.expect("connection ended") {
            (Performative::Attach(a), _) => {
                attaches += 1;
                assert!(
                    a.source.is_some() && a.target.is_some(),
                    "source and target are echoed"
                );
            }
            (Performative::Transfer(t), payload) => {
                tags.push(t.delivery_tag.unwrap().to_vec());
                assert_eq!(payload.len(), 6);
            }
            (Performative::Flow(f), _) if f.handle.as_ref().map(|h| h.0) == Some(1) => {
                sender_credit = f.link_credit
            }
            _ => {}
        }
    }
    assert_eq!(tags, vec![tag_for(1).to_vec(), tag_for(2).to_vec()]);
    assert_eq!(sender_credit, Some(50), "the credit window of the reply");

    // The client settles both deliveries with one unsettled ranged disposition...
    let disposition = Disposition {
        role: Role::Receiver,
        first: 0,
        last: Some(1),
        settled: false,
        state: Some(DeliveryState::Accepted(Accepted {})),
        batchable: false,
    };
    // ... and sends two messages on its sender link in the same write.
    let mut bytes = frame(0, &disposition, &[]);
    bytes.extend(frame(0, &transfer(1, 0, b"t0"), b"\x00\x53\x77\xa1\x01c"));
    bytes.extend(frame(0, &transfer(1, 1, b"t1"), b"\x00\x53\x77\xa1\x01d"));
    c.write(&bytes).await;
    let mut echoes = Vec::new();
    while echoes.len() < 2 {
        if let (Performative::Disposition(d), _) = c.next().await.expect("connection ended") {
            echoes.push(d);
        }
    }
    echoes.sort_by_key(|d| d.role.clone() == Role::Receiver);
    let expected = |role| Disposition {
        role,
        first: 0,
        last: Some(1),
        settled: true,
        state: Some(DeliveryState::Accepted(Accepted {})),
        batchable: false,
    };
    assert_eq!(
        echoes,
        vec![expected(Role::Sender), expected(Role::Receiver)]
    );
}

#[tokio::test]
async fn string_keyed_error_info_is_decoded_and_a_dead_letter_is_echoed_without_error() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    broker
        .broker
        .push("dlq-test", Bytes::from_static(b"\x00\x53\x77\x40"));
    let (mut c, _) = RawClient::opened(broker.listener.local_addr().port(), None).await;
    let mut bytes = frame(0, &begin(), &[]);
    bytes.extend(frame(0, &attach("r", 0, Role::Receiver, "dlq-test"), &[]));
    bytes.extend(frame(0, &link_flow(0, None, 1, false), &[]));
    c.write(&bytes).await;
    c.expect("a transfer", |p, _| {
        matches!(p, Performative::Transfer(_)).then_some(())
    })
    .await;

    // What rhea sends for deadLetter(): info with string keys.
    let mut info = OrderedMap::new();
    info.insert(
        Value::String("DeadLetterReason".into()),
        Value::String("bad input".into()),
    );
    info.insert(
        Value::String("DeadLetterErrorDescription".into()),
        Value::String("details".into()),
    );
    let error = described(
        0x1d,
        vec![
            Value::Symbol("com.microsoft:dead-letter".into()),
            Value::String("why".into()),
            Value::Map(info),
        ],
    );
    let disposition = described(
        0x15,
        vec![
            Value::Bool(true),
            Value::Uint(0),
            Value::Uint(0),
            Value::Bool(false),
            described(0x25, vec![error]),
        ],
    );
    c.write(&raw_frame(0, 0, &serde_amqp::to_vec(&disposition).unwrap()))
        .await;

    let update = broker
        .wait_for(|s| {
            if let Seen::Disposition(u) = s {
                Some(u)
            } else {
                None
            }
        })
        .await;
    let Some(Outcome::Rejected(Some(e))) = update.outcome else {
        panic!("{update:?}")
    };
    assert_eq!(e.condition, "com.microsoft:dead-letter");
    assert_eq!(e.info_str("DeadLetterReason"), Some("bad input"));
    assert_eq!(e.info_str("DeadLetterErrorDescription"), Some("details"));
    let d = c
        .expect("the disposition echo", |p, _| match p {
            Performative::Disposition(d) => Some(d),
            _ => None,
        })
        .await;
    assert!(d.settled && d.role == Role::Sender);
    match d.state {
        Some(DeliveryState::Rejected(r)) => {
            assert!(r.error.is_none(), "success echo carries no error")
        }
        other => panic!("expected rejected, got {other:?}"),
    }
}

#[tokio::test]
async fn drain_is_answered_with_drain_and_zero_credit_after_the_available_messages() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    broker
        .broker
        .push("drain", Bytes::from_static(b"\x00\x53\x77\x40"));
    let (mut c, _) = RawClient::opened(broker.listener.local_addr().port(), None).await;
    let mut bytes = frame(0, &begin(), &[]);
    bytes.extend(frame(0, &attach("r", 0, Role::Receiver, "drain"), &[]));
    c.write(&bytes).await;
    c.expect("an attach", |p, _| {
        matches!(p, Performative::Attach(_)).then_some(())
    })
    .await;
    c.write(&frame(0, &link_flow(0, Some(0), 5, true), &[]))
        .await;
    let mut transfers = 0;
    loop {
        match c.next().await.expect("connection ended") {
            (Performative::Transfer(_), _) => transfers += 1,
            (Performative::Flow(f), _) => {
                assert_eq!(
                    transfers, 1,
                    "available messages go out before the drain answer"
                );
                assert!(f.drain);
                assert_eq!((f.link_credit, f.delivery_count), (Some(0), Some(5)));
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn heartbeats_follow_the_client_idle_timeout_and_silent_clients_are_dropped() {
    let config = ConnectionConfig {
        idle_timeout: Some(Duration::from_millis(400)),
        ..ConnectionConfig::default()
    };
    let broker = TestBroker::start(config).await;
    let (mut c, ours) = RawClient::opened(broker.listener.local_addr().port(), Some(100)).await;
    assert_eq!(ours.idle_time_out, Some(400));
    assert!(ours.max_frame_size.0 >= 256 * 1024 && ours.channel_max.0 >= 255);
    let mut empties = 0;
    loop {
        match c
            .read_frame()
            .await
            .expect("connection ended without close")
        {
            amqp_support::raw::Received::Empty => empties += 1,
            amqp_support::raw::Received::Performative(_, p, _) => {
                let Performative::Close(close) = *p else {
                    panic!("{p:?}")
                };
                let error = close.error.expect("close without error");
                assert_eq!(condition_text(&error), "amqp:resource-limit-exceeded");
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(empties >= 1, "heartbeats at half the client's idle timeout");
}

#[tokio::test]
async fn flows_for_a_held_attach_are_replayed_once_it_is_answered() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    broker
        .broker
        .push("hold-raw", Bytes::from_static(b"\x00\x53\x77\x40"));
    let (mut c, _) = RawClient::opened(broker.listener.local_addr().port(), None).await;
    let mut bytes = frame(0, &begin(), &[]);
    bytes.extend(frame(0, &attach("r", 0, Role::Receiver, "hold-raw"), &[]));
    bytes.extend(frame(0, &link_flow(0, None, 3, false), &[]));
    c.write(&bytes).await;
    broker
        .wait_for(|s| matches!(s, Seen::Held).then_some(()))
        .await;
    broker.broker.release_held();
    let mut attached = false;
    loop {
        match c.next().await.expect("connection ended") {
            (Performative::Attach(_), _) => attached = true,
            (Performative::Transfer(t), _) => {
                assert!(attached, "the attach answer precedes the transfer");
                assert_eq!(t.delivery_tag.unwrap().to_vec(), tag_for(1).to_vec());
                break;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn listener_shutdown_closes_open_connections() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let (mut c, _) = RawClient::opened(broker.listener.local_addr().port(), None).await;
    broker.listener.shutdown();
    assert_eq!(c.expect_close().await.0, "amqp:connection:forced");
}
