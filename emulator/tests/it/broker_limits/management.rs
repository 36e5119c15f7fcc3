//! `$management` cannot be made to hold unbounded replies: a peek reply carries messages up to
//! the broker's message size (at least one; the client pages on), and a reply link whose
//! client grants no credit is detached once 64 replies wait. Hand-driven AMQP against the real
//! broker in development mode (no `$cbs` needed).

use super::amqp_support::raw::{
    attach, begin, condition_text, frame, link_flow, transfer, RawClient,
};
use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::entity::NewMessage;
use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{AmqpValue, ApplicationProperties, Body, Message, Properties};
use fe2o3_amqp_types::performatives::{Detach, Performative};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Value};

async fn start() -> RunningBroker {
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml("[[queues]]\nname = \"q\"\n")
        .unwrap()
        .max_message_size(1024)
        .start()
        .await
        .unwrap()
}

/// A peek request for up to 100 messages from sequence number 1.
fn peek_request(n: u32) -> Vec<u8> {
    let mut body = OrderedMap::new();
    body.insert(Value::from("from-sequence-number"), Value::Long(1));
    body.insert(Value::from("message-count"), Value::Int(100));
    let message: Message<Body<Value>> = Message::builder()
        .properties(Properties {
            message_id: Some(format!("req-{n}").into()),
            ..Properties::default()
        })
        .application_properties(
            ApplicationProperties::builder()
                .insert("operation", "com.microsoft:peek-message")
                .build(),
        )
        .body(Body::Value(AmqpValue(Value::Map(body))))
        .build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

/// A connection with a request sender (handle 0) and a reply receiver (handle 1) on
/// `q/$management`.
async fn management(broker: &RunningBroker) -> RawClient {
    let (mut c, _) = RawClient::opened(broker.local_addr().port(), None).await;
    c.write(&frame(0, &begin(), &[])).await;
    let node = "q/$management";
    c.write(&frame(0, &attach("requests", 0, Role::Sender, node), &[]))
        .await;
    c.write(&frame(0, &attach("replies", 1, Role::Receiver, node), &[]))
        .await;
    c
}

#[tokio::test]
async fn a_peek_reply_carries_messages_up_to_the_message_size() {
    let broker = start().await;
    let sender = broker.namespace().sender("q").unwrap();
    for _ in 0..10 {
        sender.send(&NewMessage::new(vec![7u8; 400])).await.unwrap();
    }
    let mut c = management(&broker).await;
    c.write(&frame(0, &link_flow(1, Some(0), 10, false), &[]))
        .await;
    c.write(&frame(0, &transfer(0, 0, b"r0"), &peek_request(0)))
        .await;
    let reply = c
        .expect("the peek reply", |p, payload| {
            matches!(p, Performative::Transfer(_)).then_some(payload)
        })
        .await;
    let reply: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(&reply).unwrap();
    let reply = reply.0;
    let properties = reply.application_properties.unwrap().0;
    let status = properties.get("status-code").cloned();
    assert_eq!(status, Some(SimpleValue::Int(200)));
    let Body::Value(AmqpValue(Value::Map(body))) = reply.body else {
        panic!("reply body {:?}", reply.body)
    };
    let Some(Value::List(messages)) = body.get(&Value::from("messages")) else {
        panic!("no messages in {body:?}")
    };
    // 1024 bytes of 400-byte messages: two of the ten.
    assert_eq!(messages.len(), 2);
}

#[tokio::test]
async fn a_reply_link_without_credit_is_detached_once_64_replies_wait() {
    let broker = start().await;
    let mut c = management(&broker).await;
    let mut bytes = Vec::new();
    for n in 0..65u32 {
        bytes.extend(frame(
            0,
            &transfer(0, n, &n.to_be_bytes()),
            &peek_request(n),
        ));
    }
    c.write(&bytes).await;
    let error = c
        .expect("the detach of the request link", |p, _| match p {
            Performative::Detach(Detach {
                handle,
                error: Some(error),
                ..
            }) if handle.0 == 1 => Some(error),
            _ => None,
        })
        .await;
    assert_eq!(condition_text(&error), "amqp:resource-limit-exceeded");
    assert!(
        error
            .description
            .unwrap()
            .contains("64 replies are waiting"),
        "the text says why"
    );
}
