use std::time::{Duration, UNIX_EPOCH};

use berth::PropertyValue;
use fe2o3_amqp_types::messaging::{
    AmqpValue, Batch, DeliveryAnnotations, Header, MessageAnnotations, Properties,
};
use fe2o3_amqp_types::primitives::{SimpleValue, Symbol, Timestamp, Uuid};
use serde_amqp::primitives::OrderedMap;

use super::*;

fn annotations(pairs: &[(&str, Value)]) -> MessageAnnotations {
    MessageAnnotations(
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), v.clone()))
            .collect(),
    )
}

fn incoming(body: Body<Value>) -> Incoming {
    AmqpMessage {
        header: Some(Header {
            delivery_count: 2,
            ttl: Some(60_000),
            ..Header::default()
        }),
        delivery_annotations: Some(DeliveryAnnotations(OrderedMap::new())),
        message_annotations: Some(annotations(&[
            ("x-opt-sequence-number", Value::Long(42)),
            (
                "x-opt-enqueued-time",
                Value::Timestamp(Timestamp::from_milliseconds(1_700_000_000_000)),
            ),
            (
                "x-opt-locked-until",
                Value::Timestamp(Timestamp::from_milliseconds(1_700_000_060_000)),
            ),
            ("x-opt-deadletter-source", Value::String("orders".into())),
        ])),
        properties: Some(Properties {
            message_id: Some(MessageId::String("m-1".into())),
            correlation_id: Some(MessageId::Ulong(9)),
            content_type: Some(Symbol::from("application/json")),
            subject: Some("subj".into()),
            to: Some("dest".into()),
            reply_to: Some("back".into()),
            group_id: Some("session-a".into()),
            reply_to_group_id: Some("session-b".into()),
            ..Properties::new()
        }),
        application_properties: Some(ApplicationProperties(
            [
                ("tenant".to_string(), SimpleValue::String("t1".into())),
                ("n".to_string(), SimpleValue::Int(5)),
                (
                    "DeadLetterReason".to_string(),
                    SimpleValue::String("Bad".into()),
                ),
                (
                    "DeadLetterErrorDescription".to_string(),
                    SimpleValue::String("why".into()),
                ),
            ]
            .into_iter()
            .collect(),
        )),
        body,
        footer: None,
    }
}

#[test]
fn converts_every_field_service_bus_sends() {
    let body = Body::Data(Batch::new(vec![Data(Binary::from(b"{\"a\":1}".to_vec()))]));
    let token = [0xaa; 16];
    let m = to_berth(incoming(body), Some(&token));
    assert_eq!(&m.body[..], b"{\"a\":1}");
    assert_eq!(m.message_id.as_deref(), Some("m-1"));
    assert_eq!(m.correlation_id.as_deref(), Some("9"));
    assert_eq!(m.content_type.as_deref(), Some("application/json"));
    assert_eq!(m.subject.as_deref(), Some("subj"));
    assert_eq!(m.to.as_deref(), Some("dest"));
    assert_eq!(m.reply_to.as_deref(), Some("back"));
    assert_eq!(m.session_id.as_deref(), Some("session-a"));
    assert_eq!(m.reply_to_session_id.as_deref(), Some("session-b"));
    assert_eq!(m.time_to_live, Some(Duration::from_secs(60)));
    assert_eq!(m.delivery_count, 3);
    assert_eq!(m.sequence_number, 42);
    assert_eq!(
        m.enqueued_time,
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
    );
    assert_eq!(
        m.locked_until,
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_060))
    );
    assert_eq!(
        m.lock_token.as_deref(),
        Some("aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa")
    );
    assert_eq!(
        m.application_properties.get("tenant"),
        Some(&PropertyValue::String("t1".into()))
    );
    assert_eq!(
        m.application_properties.get("n"),
        Some(&PropertyValue::Long(5))
    );
    assert_eq!(m.dead_letter_reason.as_deref(), Some("Bad"));
    assert_eq!(m.dead_letter_error_description.as_deref(), Some("why"));
    assert_eq!(m.dead_letter_source.as_deref(), Some("orders"));
}

#[test]
fn a_missing_header_means_first_delivery() {
    let mut msg = incoming(Body::Empty);
    msg.header = None;
    msg.properties = None;
    msg.message_annotations = None;
    msg.application_properties = None;
    let m = to_berth(msg, None);
    assert_eq!(m.delivery_count, 1);
    assert_eq!(m.sequence_number, 0);
    assert!(m.body.is_empty());
    assert_eq!(m.lock_token, None);
    assert_eq!(m.dead_letter_reason, None);
}

#[test]
fn bodies_of_every_kind() {
    let joined = Body::Data(Batch::new(vec![
        Data(Binary::from(b"ab".to_vec())),
        Data(Binary::from(b"cd".to_vec())),
    ]));
    assert_eq!(&to_berth(incoming(joined), None).body[..], b"abcd");
    let text = Body::Value(AmqpValue(Value::String("hello".into())));
    assert_eq!(&to_berth(incoming(text), None).body[..], b"hello");
    let binary = Body::Value(AmqpValue(Value::Binary(Binary::from(vec![1, 2]))));
    assert_eq!(&to_berth(incoming(binary), None).body[..], &[1, 2]);
    let int = Body::Value(AmqpValue(Value::Int(7)));
    assert_eq!(
        to_berth(incoming(int), None).body.to_vec(),
        serde_amqp::to_vec(&Value::Int(7)).unwrap()
    );
}

#[test]
fn message_ids_of_every_type_become_text() {
    assert_eq!(message_id_text(MessageId::Ulong(12)), "12");
    assert_eq!(
        message_id_text(MessageId::Uuid(Uuid::from([0x11; 16]))),
        "11111111-1111-1111-1111-111111111111"
    );
    assert_eq!(
        message_id_text(MessageId::Binary(Binary::from(vec![0xab, 0x01]))),
        "ab01"
    );
}

#[test]
fn outgoing_messages_carry_what_service_bus_reads() {
    let mut m = Message::with_body(&b"payload"[..])
        .id("id-1")
        .session("s-1")
        .property("k", "v");
    m.content_type = Some("text/plain".into());
    m.time_to_live = Some(Duration::from_secs(30));
    let amqp = to_amqp(&m);
    let p = amqp.properties.as_ref().unwrap();
    assert_eq!(p.message_id, Some(MessageId::String("id-1".into())));
    assert_eq!(p.group_id.as_deref(), Some("s-1"));
    assert_eq!(p.content_type, Some(Symbol::from("text/plain")));
    assert_eq!(amqp.header.as_ref().unwrap().ttl, Some(30_000));
    assert_eq!(
        amqp.application_properties.as_ref().unwrap().0.get("k"),
        Some(&SimpleValue::String("v".into()))
    );
    assert_eq!(&amqp.body.0[..], b"payload");
    // And back: what we send is what a receiver sees.
    let back = AmqpMessage {
        header: amqp.header.clone(),
        delivery_annotations: None,
        message_annotations: None,
        properties: amqp.properties.clone(),
        application_properties: amqp.application_properties.clone(),
        body: Body::Data(Batch::new(vec![amqp.body.clone()])),
        footer: None,
    };
    let received = to_berth(back, None);
    assert_eq!(received.body, m.body);
    assert_eq!(received.session_id, m.session_id);
    assert_eq!(received.application_properties, m.application_properties);
}
