//! Peeking a topic over `$management`, as Azure allows: the topic lists its scheduled messages
//! (state Scheduled, each once), while its subscriptions' peeks leave them out. Over real
//! sockets against the real broker with an AMQP client (fe2o3-amqp): the SDKs have no receiver
//! for a topic, so none of their scenarios can ask.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_emulator::broker::{Broker, RunningBroker};
use fe2o3_amqp::link::{Receiver, Sender};
use fe2o3_amqp::{Connection, Session};
use fe2o3_amqp_types::messaging::message::__private::Deserializable;
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Body, Message, MessageAnnotations, Properties,
};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Timestamp, Value};

/// The body of a message sent as an AMQP string value.
fn text(body: &Body<Value>) -> Option<&str> {
    match body {
        Body::Value(v) => match &v.0 {
            Value::String(s) => Some(s),
            _ => None,
        },
        _ => None,
    }
}

const ENTITIES: &str = r#"
[[topics]]
name = "t"
[[topics.subscriptions]]
name = "a"
[[topics.subscriptions]]
name = "b"
"#;
const WAIT: Duration = Duration::from_secs(20);

/// A `peek-message` on `node`; returns the status code and the peeked messages.
async fn peek(
    session: &mut fe2o3_amqp::session::SessionHandle<()>,
    node: &str,
) -> (i32, Vec<Message<Body<Value>>>) {
    let reply_to = format!("{node}-replies");
    let mut sender = Sender::builder()
        .name(format!("{node}-requests"))
        .source(reply_to.as_str())
        .target(node)
        .attach(session)
        .await
        .unwrap();
    let mut receiver = Receiver::builder()
        .name(reply_to.as_str())
        .source(node)
        .target(reply_to.as_str())
        .attach(session)
        .await
        .unwrap();
    let mut operation = OrderedMap::new();
    operation.insert(
        "operation".to_owned(),
        SimpleValue::String("com.microsoft:peek-message".into()),
    );
    let mut body = OrderedMap::new();
    body.insert(Value::String("from-sequence-number".into()), Value::Long(1));
    body.insert(Value::String("message-count".into()), Value::Int(10));
    let request = Message::builder()
        .properties(
            Properties::builder()
                .message_id(1u64)
                .reply_to(reply_to.as_str())
                .build(),
        )
        .application_properties(ApplicationProperties(operation))
        .value(Value::Map(body))
        .build();
    sender.send(request).await.unwrap();
    let delivery = tokio::time::timeout(WAIT, receiver.recv::<Body<Value>>())
        .await
        .expect("a reply within 20 s")
        .unwrap();
    receiver.accept(&delivery).await.unwrap();
    let reply = delivery.message();
    let status = match reply
        .application_properties
        .as_ref()
        .and_then(|p| p.0.get("statusCode"))
    {
        Some(SimpleValue::Int(code)) => *code,
        other => panic!("no statusCode in the reply: {other:?}"),
    };
    let mut messages = Vec::new();
    if let Body::Value(value) = &reply.body {
        if let Value::Map(map) = &value.0 {
            if let Some(Value::List(list)) = map.get(&Value::String("messages".into())) {
                for entry in list {
                    let Value::Map(entry) = entry else {
                        panic!("not a map: {entry:?}")
                    };
                    let Some(Value::Binary(raw)) = entry.get(&Value::String("message".into()))
                    else {
                        panic!("no message binary: {entry:?}")
                    };
                    let decoded: Deserializable<Message<Body<Value>>> =
                        serde_amqp::from_slice(raw).unwrap();
                    messages.push(decoded.0);
                }
            }
        }
    }
    (status, messages)
}

fn annotation<'m>(message: &'m Message<Body<Value>>, key: &str) -> Option<&'m Value> {
    message
        .message_annotations
        .as_ref()?
        .get(
            &fe2o3_amqp_types::primitives::Symbol::from(key)
                as &dyn fe2o3_amqp_types::messaging::annotations::AnnotationKey,
        )
}

async fn start() -> RunningBroker {
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_topic_peek_lists_its_scheduled_messages_and_subscriptions_do_not() {
    let broker = start().await;
    let url = format!("amqp://{}", broker.local_addr());
    let mut connection = Connection::open("topic-peek", url.as_str()).await.unwrap();
    let mut session = Session::begin(&mut connection).await.unwrap();
    let mut sender = Sender::attach(&mut session, "send-t", "t").await.unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let ms = later.duration_since(UNIX_EPOCH).unwrap().as_millis() as i64;
    let scheduled = Message::builder()
        .message_annotations(
            MessageAnnotations::builder()
                .insert(
                    "x-opt-scheduled-enqueue-time",
                    Timestamp::from_milliseconds(ms),
                )
                .build(),
        )
        .value(Value::String("later".into()))
        .build();
    sender.send(scheduled).await.unwrap();
    sender
        .send(
            Message::builder()
                .value(Value::String("now".into()))
                .build(),
        )
        .await
        .unwrap();

    let (status, at_topic) = peek(&mut session, "t/$management").await;
    assert_eq!(status, 200);
    assert_eq!(
        at_topic.len(),
        1,
        "the scheduled message, once: {at_topic:?}"
    );
    assert_eq!(text(&at_topic[0].body), Some("later"));
    assert_eq!(
        annotation(&at_topic[0], "x-opt-message-state"),
        Some(&Value::Int(2))
    );
    assert_eq!(
        annotation(&at_topic[0], "x-opt-sequence-number"),
        Some(&Value::Long(1))
    );

    for sub in ["a", "b"] {
        let (status, peeked) =
            peek(&mut session, &format!("t/Subscriptions/{sub}/$management")).await;
        assert_eq!(status, 200, "{sub}");
        let bodies: Vec<_> = peeked.iter().map(|m| text(&m.body)).collect();
        assert_eq!(
            bodies,
            [Some("now")],
            "{sub}: the scheduled message waits at the topic"
        );
    }
    broker.shutdown().await;
}
