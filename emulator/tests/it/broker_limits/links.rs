//! Session, link and delivery limits: channel-max, handle-max, links per connection,
//! message size, transfers without credit, entity size.

use super::amqp_support::raw::{
    attach, begin, condition_text, frame, link_flow, transfer, RawClient,
};
use super::amqp_support::{Seen, TestBroker};
use super::{expect_detach, next_link_frame, session, start, start_with, within};
use berth_emulator::amqp::ConnectionConfig;
use berth_emulator::limits::Limits;
use fe2o3_amqp_types::definitions::{Role, SenderSettleMode};
use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::{Body, DeliveryState, Message};
use fe2o3_amqp_types::performatives::{Detach, Performative, Transfer};
use fe2o3_amqp_types::primitives::{Binary, Value};

#[tokio::test]
async fn channel_max_and_handle_max_are_advertised_and_enforced() {
    let broker = start(Limits {
        max_sessions_per_connection: 2,
        max_links_per_session: 2,
        ..Limits::default()
    })
    .await;
    let port = broker.local_addr().port();
    let (mut c, open) = RawClient::opened(port, None).await;
    assert_eq!(open.channel_max.0, 1);
    c.write(&frame(2, &begin(), &[])).await;
    let (condition, description) = within("the close", c.expect_close()).await;
    assert_eq!(condition, "amqp:not-allowed");
    assert!(description.contains("channel-max 1"), "{description}");

    let (mut c, _) = RawClient::opened(port, None).await;
    c.write(&frame(0, &begin(), &[])).await;
    let Some((Performative::Begin(reply), _)) = c.next().await else {
        panic!("no begin")
    };
    assert_eq!(reply.handle_max.0, 1);
    c.write(&frame(0, &attach("r", 2, Role::Receiver, "q"), &[]))
        .await;
    let (condition, description) = within("the close", c.expect_close()).await;
    assert_eq!(condition, "amqp:not-allowed");
    assert!(description.contains("handle-max 1"), "{description}");
}

#[tokio::test]
async fn links_beyond_the_connection_limit_are_refused_until_one_detaches() {
    let broker = start(Limits {
        max_links_per_connection: 2,
        ..Limits::default()
    })
    .await;
    let mut c = session(broker.local_addr().port()).await;
    for handle in 0..2 {
        c.write(&frame(
            0,
            &attach(&format!("r{handle}"), handle, Role::Receiver, "q"),
            &[],
        ))
        .await;
        assert!(matches!(
            next_link_frame(&mut c).await,
            Performative::Attach(_)
        ));
    }
    c.write(&frame(0, &attach("r2", 2, Role::Receiver, "q"), &[]))
        .await;
    assert!(matches!(
        next_link_frame(&mut c).await,
        Performative::Attach(_)
    ));
    let (condition, description) = expect_detach(&mut c).await;
    assert_eq!(condition, "amqp:resource-limit-exceeded");
    assert!(description.contains("2 links attached"), "{description}");
    let detach = |handle: u32| Detach {
        handle: handle.into(),
        closed: true,
        error: None,
    };
    c.write(&frame(0, &detach(2), &[])).await;
    c.write(&frame(0, &detach(0), &[])).await;
    assert!(matches!(
        next_link_frame(&mut c).await,
        Performative::Detach(_)
    ));
    // A slot is free again: the next attach is accepted (no detach before the marker begin).
    c.write(&frame(0, &attach("r3", 3, Role::Receiver, "q"), &[]))
        .await;
    c.write(&frame(1, &begin(), &[])).await;
    let mut attached = false;
    loop {
        match within("the marker begin", c.next()).await {
            Some((Performative::Attach(_), _)) => attached = true,
            Some((Performative::Begin(_), _)) => break,
            Some((Performative::Detach(d), _)) => panic!("refused again: {d:?}"),
            Some(_) => {}
            None => panic!("the connection ended"),
        }
    }
    assert!(attached);
}

/// A transfer of `payload`; `more` marks all but the last frame of a delivery.
fn transfer_frame(handle: u32, id: u32, more: bool, first: bool, payload: &[u8]) -> Vec<u8> {
    let mut t = transfer(handle, id, &id.to_be_bytes());
    t.more = more;
    if !first {
        t.delivery_id = None;
        t.delivery_tag = None;
    }
    frame(0, &t, payload)
}

#[tokio::test]
async fn messages_over_the_max_size_detach_the_link_even_split_across_frames() {
    // The transfer limit is the message size plus the 64 KiB batch envelope allowance.
    let limit = 1024 + 64 * 1024;
    let broker = start_with(Limits::default(), 1024).await;
    let mut c = session(broker.local_addr().port()).await;
    c.write(&frame(0, &attach("s0", 0, Role::Sender, "q"), &[]))
        .await;
    let Performative::Attach(reply) = next_link_frame(&mut c).await else {
        panic!("no attach")
    };
    assert_eq!(reply.max_message_size, Some(limit));
    // Five 16 000-byte frames, all with `more`: the detach comes before the delivery ends.
    let chunk = vec![0x40u8; 16_000];
    let mut bytes = transfer_frame(0, 0, true, true, &chunk);
    for _ in 0..4 {
        bytes.extend(transfer_frame(0, 0, true, false, &chunk));
    }
    c.write(&bytes).await;
    let (condition, description) = expect_detach(&mut c).await;
    assert_eq!(condition, "amqp:link:message-size-exceeded");
    assert!(
        description.contains(&format!("exceeds the limit ({limit} bytes)")),
        "{description}"
    );
    // One frame over the limit, on a new link of the same connection.
    c.write(&frame(0, &attach("s1", 1, Role::Sender, "q"), &[]))
        .await;
    assert!(matches!(
        next_link_frame(&mut c).await,
        Performative::Attach(_)
    ));
    c.write(&transfer_frame(
        1,
        1,
        false,
        true,
        &vec![0x40u8; limit as usize + 1],
    ))
    .await;
    assert_eq!(
        expect_detach(&mut c).await.0,
        "amqp:link:message-size-exceeded"
    );
}

#[tokio::test]
async fn a_transfer_without_credit_detaches_the_link() {
    let mut broker = TestBroker::start(ConnectionConfig::default()).await;
    let mut c = session(broker.listener.local_addr().port()).await;
    // The attach is held, so the link has no credit yet; a transfer must not be queued.
    c.write(&frame(0, &attach("s", 0, Role::Sender, "hold-x"), &[]))
        .await;
    broker
        .wait_for(|s| matches!(s, Seen::Held).then_some(()))
        .await;
    c.write(&transfer_frame(0, 0, false, true, b"payload"))
        .await;
    let (condition, _) = expect_detach(&mut c).await;
    assert_eq!(condition, "amqp:link:transfer-limit-exceeded");
    let heard = broker
        .wait_for(|s| match s {
            Seen::Detach { error, .. } => Some(error),
            _ => None,
        })
        .await;
    assert_eq!(
        heard.unwrap().condition,
        "amqp:link:transfer-limit-exceeded"
    );
}

fn message(body_len: usize) -> Vec<u8> {
    let body = Body::Data(vec![Binary::from(vec![7u8; body_len]).into()].into());
    let message: Message<Body<Value>> = Message::builder().body(body).build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

/// Sends one message on `handle` and returns the broker's outcome.
async fn send(c: &mut RawClient, handle: u32, id: u32) -> DeliveryState {
    c.write(&frame(
        0,
        &transfer(handle, id, &id.to_be_bytes()),
        &message(300),
    ))
    .await;
    loop {
        match within("a disposition", c.next()).await {
            Some((Performative::Disposition(d), _)) => return d.state.unwrap(),
            Some((Performative::Detach(d), _)) => panic!("detached: {d:?}"),
            Some(_) => {}
            None => panic!("the connection ended"),
        }
    }
}

#[tokio::test]
async fn sends_over_the_entity_size_are_rejected_until_messages_are_removed() {
    let broker = start(Limits::default()).await;
    let mut c = session(broker.local_addr().port()).await;
    c.write(&frame(0, &attach("s", 0, Role::Sender, "small"), &[]))
        .await;
    assert!(matches!(
        next_link_frame(&mut c).await,
        Performative::Attach(_)
    ));
    let mut accepted = 0;
    let rejected = loop {
        assert!(
            accepted < 10,
            "1000 bytes hold fewer than ten 300-byte messages"
        );
        match send(&mut c, 0, accepted).await {
            DeliveryState::Accepted(_) => accepted += 1,
            DeliveryState::Rejected(r) => break r.error.unwrap(),
            other => panic!("unexpected outcome {other:?}"),
        }
    };
    assert!(accepted >= 1);
    assert_eq!(condition_text(&rejected), "amqp:resource-limit-exceeded");
    let description = rejected.description.unwrap();
    assert!(
        description.starts_with("The maximum entity size has been reached or exceeded for 'small'"),
        "{description}"
    );
    // Take one message off (receive-and-delete): the next send fits again.
    let mut receiver = attach("r", 1, Role::Receiver, "small");
    receiver.snd_settle_mode = SenderSettleMode::Settled;
    c.write(&frame(0, &receiver, &[])).await;
    assert!(matches!(
        next_link_frame(&mut c).await,
        Performative::Attach(_)
    ));
    c.write(&frame(0, &link_flow(1, Some(0), 1, false), &[]))
        .await;
    loop {
        match within("a transfer", c.next()).await {
            Some((Performative::Transfer(Transfer { handle, .. }), _)) if handle.0 == 1 => break,
            Some(_) => {}
            None => panic!("the connection ended"),
        }
    }
    assert!(matches!(
        send(&mut c, 0, accepted + 1).await,
        DeliveryState::Accepted(_)
    ));
}

#[tokio::test]
async fn unfinished_deliveries_of_all_links_together_are_bounded() {
    let mut broker = TestBroker::start(ConnectionConfig {
        max_partial_bytes: 100_000,
        ..ConnectionConfig::default()
    })
    .await;
    let mut c = session(broker.listener.local_addr().port()).await;
    for (handle, queue) in [(0, "a"), (1, "b")] {
        c.write(&frame(0, &attach(queue, handle, Role::Sender, queue), &[]))
            .await;
        assert!(matches!(
            next_link_frame(&mut c).await,
            Performative::Attach(_)
        ));
    }
    let chunk = vec![0x40u8; 60_000];
    c.write(&transfer_frame(0, 0, true, true, &chunk)).await;
    c.write(&transfer_frame(1, 1, true, true, &chunk)).await;
    let (condition, description) = expect_detach(&mut c).await;
    assert_eq!(condition, "amqp:resource-limit-exceeded");
    assert!(
        description.contains("100000 bytes of unfinished deliveries"),
        "{description}"
    );
    // The first link's delivery is unaffected and completes.
    c.write(&transfer_frame(0, 0, false, false, b"end")).await;
    let len = within("the completed delivery", broker.next_transfer_len()).await;
    assert_eq!(len, 60_003);
}
