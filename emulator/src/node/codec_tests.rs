//! The codec is checked against fe2o3-amqp-types, an independent AMQP encoder/decoder.

use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Body, Data, Header, Message, MessageAnnotations, MessageId, Properties,
};
use fe2o3_amqp_types::primitives::{Binary, SimpleValue, Symbol, Timestamp, Uuid, Value};

use super::*;

fn encode(message: Message<Data>) -> Vec<u8> {
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

fn decode(raw: &[u8]) -> Message<Body<Value>> {
    let message: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(raw).unwrap();
    message.0
}

fn annotation<'m>(m: &'m Message<Body<Value>>, key: &str) -> Option<&'m Value> {
    m.message_annotations
        .as_ref()?
        .get(&Symbol::from(key) as &dyn fe2o3_amqp_types::messaging::annotations::AnnotationKey)
}

fn client_message() -> Vec<u8> {
    encode(
        Message::builder()
            .header(Header::builder().durable(true).ttl(Some(60_000)).build())
            .message_annotations(
                MessageAnnotations::builder()
                    .insert(
                        "x-opt-scheduled-enqueue-time",
                        Timestamp::from_milliseconds(1_700_000_000_000),
                    )
                    .insert("x-opt-partition-key", "pk")
                    .insert("x-opt-sequence-number", 999_i64)
                    .insert("custom", "kept")
                    .build(),
            )
            .properties(
                Properties::builder()
                    .message_id(String::from("m-1"))
                    .subject("greeting")
                    .group_id(String::from("session-a"))
                    .build(),
            )
            .application_properties(
                ApplicationProperties::builder()
                    .insert("color", "blue")
                    .build(),
            )
            .data(Binary::from(vec![1u8, 2, 3, 4]))
            .build(),
    )
}

#[test]
fn inspect_reads_ids_ttl_and_schedule() {
    let raw = client_message();
    let info = inspect(&raw).unwrap();
    assert_eq!(info.session_id, Some("session-a"));
    assert_eq!(info.partition_key, Some("pk"));
    assert_eq!(info.time_to_live_ms, Some(60_000));
    assert_eq!(info.scheduled_enqueue_time_ms, Some(1_700_000_000_000));
    assert_eq!(info.size, raw.len());
}

#[test]
fn inspect_of_a_bare_message_finds_nothing() {
    let raw = encode(Message::builder().data(Binary::from(vec![9u8])).build());
    let info = inspect(&raw).unwrap();
    assert_eq!((info.session_id, info.time_to_live_ms), (None, None));
}

#[test]
fn inspect_refuses_garbage_and_truncation() {
    assert!(matches!(inspect(&[0xff]), Err(CodecError::Malformed(_))));
    let raw = client_message();
    assert!(matches!(
        inspect(&raw[..raw.len() - 1]),
        Err(CodecError::Malformed(_))
    ));
    assert_eq!(
        inspect(&[0xa1, 1, b'x']),
        Err(CodecError::Shape("expected a message section"))
    );
    let mut reordered = encode(Message::builder().data(Binary::from(vec![1u8])).build());
    reordered.extend_from_slice(&encode(
        Message::builder()
            .properties(Properties::builder().message_id(String::from("x")).build())
            .data(Binary::from(vec![]))
            .build(),
    ));
    assert!(matches!(inspect(&reordered), Err(CodecError::Shape(_))));
}

fn stamp() -> Stamp<'static> {
    Stamp {
        lock_token: Some([
            0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
            0x99,
        ]),
        delivery_count: 0,
        time_to_live_ms: None,
        sequence_number: 7,
        enqueued_time_ms: 1_700_000_000_123,
        locked_until_ms: Some(1_700_000_060_123),
        state: 0,
        enqueue_sequence_number: 7,
        dead_letter_reason: None,
        dead_letter_description: None,
        dead_letter_source: None,
    }
}

#[test]
fn delivery_has_header_with_zero_delivery_count_and_the_client_fields() {
    let mut out = Vec::new();
    encode_delivery(&client_message(), &stamp(), &mut out).unwrap();
    let header = Reader::new(&out).value().unwrap();
    let (code, list) = wire::described(header).unwrap();
    assert_eq!(code, 0x70);
    let fields: Vec<_> = wire::list_items(list)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        fields.len(),
        5,
        "delivery-count must be serialised even when 0"
    );
    assert_eq!(fields[4], [0x70, 0, 0, 0, 0]);
    let decoded = decode(&out).header.unwrap();
    assert!(decoded.durable);
    assert_eq!(decoded.ttl, Some(60_000));
}

#[test]
fn delivery_header_carries_the_effective_time_to_live() {
    let with_ttl = |ttl| {
        let mut out = Vec::new();
        let stamp = Stamp {
            time_to_live_ms: ttl,
            ..stamp()
        };
        encode_delivery(&client_message(), &stamp, &mut out).unwrap();
        decode(&out).header.unwrap()
    };
    let capped = with_ttl(Some(5_000));
    assert_eq!(capped.ttl, Some(5_000), "the entity's default caps it");
    assert!(capped.durable, "the other client fields stay");
    assert_eq!(with_ttl(None).ttl, Some(60_000), "None keeps the client's");
    let raw = encode(Message::builder().data(Binary::from(vec![1u8])).build());
    let mut out = Vec::new();
    let stamp = Stamp {
        time_to_live_ms: Some(7),
        ..stamp()
    };
    encode_delivery(&raw, &stamp, &mut out).unwrap();
    assert_eq!(
        decode(&out).header.unwrap().ttl,
        Some(7),
        "a message sent without a header gets the entity's default"
    );
}

#[test]
fn delivery_carries_lock_token_and_typed_annotations() {
    let mut out = Vec::new();
    encode_delivery(
        &client_message(),
        &Stamp {
            delivery_count: 3,
            ..stamp()
        },
        &mut out,
    )
    .unwrap();
    let message = decode(&out);
    assert_eq!(message.header.as_ref().unwrap().delivery_count, 3);
    let lock =
        message
            .delivery_annotations
            .as_ref()
            .unwrap()
            .get(
                &Symbol::from("x-opt-lock-token")
                    as &dyn fe2o3_amqp_types::messaging::annotations::AnnotationKey,
            );
    assert_eq!(
        lock,
        Some(&Value::Uuid(Uuid::from(stamp().lock_token.unwrap())))
    );
    assert_eq!(
        annotation(&message, "x-opt-sequence-number"),
        Some(&Value::Long(7))
    );
    assert_eq!(
        annotation(&message, "x-opt-enqueued-time"),
        Some(&Value::Timestamp(Timestamp::from_milliseconds(
            1_700_000_000_123
        )))
    );
    assert_eq!(
        annotation(&message, "x-opt-locked-until"),
        Some(&Value::Timestamp(Timestamp::from_milliseconds(
            1_700_000_060_123
        )))
    );
    assert_eq!(
        annotation(&message, "x-opt-message-state"),
        Some(&Value::Int(0))
    );
    assert_eq!(
        annotation(&message, "x-opt-enqueue-sequence-number"),
        Some(&Value::Long(7))
    );
    assert_eq!(
        annotation(&message, "custom"),
        Some(&Value::String("kept".into()))
    );
    assert_eq!(
        annotation(&message, "x-opt-partition-key"),
        Some(&Value::String("pk".into()))
    );
    let count = message.message_annotations.as_ref().unwrap().len();
    assert_eq!(
        count, 8,
        "the client's x-opt-sequence-number is replaced, not duplicated"
    );
}

#[test]
fn delivery_keeps_properties_application_properties_and_body_bytes() {
    let raw = client_message();
    let mut out = Vec::new();
    encode_delivery(&raw, &stamp(), &mut out).unwrap();
    let message = decode(&out);
    let properties = message.properties.unwrap();
    assert_eq!(properties.group_id.as_deref(), Some("session-a"));
    assert_eq!(properties.subject.as_deref(), Some("greeting"));
    assert_eq!(
        message.application_properties.unwrap().get("color"),
        Some(&SimpleValue::String("blue".into()))
    );
    match message.body {
        Body::Data(batch) => assert_eq!(
            batch.into_iter().next().unwrap().0.into_vec(),
            vec![1, 2, 3, 4]
        ),
        other => panic!("unexpected body {other:?}"),
    }
    assert!(
        out.ends_with(&raw[raw.len() - 10..]),
        "body bytes are spliced, not re-encoded"
    );
}

#[test]
fn peeked_delivery_has_no_lock_token_or_locked_until() {
    let mut out = Vec::new();
    let peek = Stamp {
        lock_token: None,
        locked_until_ms: None,
        state: 1,
        ..stamp()
    };
    encode_delivery(&client_message(), &peek, &mut out).unwrap();
    let message = decode(&out);
    assert!(message.delivery_annotations.is_none());
    assert_eq!(annotation(&message, "x-opt-locked-until"), None);
    assert_eq!(
        annotation(&message, "x-opt-message-state"),
        Some(&Value::Int(1))
    );
}

#[test]
fn dead_lettered_delivery_has_reason_properties_even_without_client_properties() {
    let raw = encode(Message::builder().data(Binary::from(vec![5u8])).build());
    let mut out = Vec::new();
    let dead = Stamp {
        dead_letter_reason: Some("MaxDeliveryCountExceeded"),
        dead_letter_description: Some("Message could not be consumed after 2 delivery attempts."),
        ..stamp()
    };
    encode_delivery(&raw, &dead, &mut out).unwrap();
    let properties = decode(&out).application_properties.unwrap();
    assert_eq!(
        properties.get(DEAD_LETTER_REASON),
        Some(&SimpleValue::String("MaxDeliveryCountExceeded".into()))
    );
    assert_eq!(
        properties.get(DEAD_LETTER_DESCRIPTION),
        Some(&SimpleValue::String(
            "Message could not be consumed after 2 delivery attempts.".into()
        ))
    );
}

#[test]
fn client_delivery_annotations_are_dropped() {
    let raw = encode(
        Message::builder()
            .delivery_annotations(
                fe2o3_amqp_types::messaging::DeliveryAnnotations::builder()
                    .insert("x-opt-lock-token", "forged")
                    .build(),
            )
            .data(Binary::from(vec![5u8]))
            .build(),
    );
    let mut out = Vec::new();
    encode_delivery(
        &raw,
        &Stamp {
            lock_token: None,
            ..stamp()
        },
        &mut out,
    )
    .unwrap();
    assert!(decode(&out).delivery_annotations.is_none());
}

#[test]
fn properties_to_modify_overwrite_and_add_application_properties() {
    let changes: [(&str, &[u8]); 2] = [
        (
            "color",
            &serde_amqp::to_vec(&Value::String("red".into())).unwrap(),
        ),
        ("tries", &serde_amqp::to_vec(&Value::Int(2)).unwrap()),
    ];
    let rewritten = rewrite_application_properties(&client_message(), &changes).unwrap();
    let message = decode(&rewritten);
    let properties = message.application_properties.unwrap();
    assert_eq!(
        properties.get("color"),
        Some(&SimpleValue::String("red".into()))
    );
    assert_eq!(properties.get("tries"), Some(&SimpleValue::Int(2)));
    assert_eq!(properties.len(), 2);
    assert_eq!(
        message.properties.unwrap().message_id,
        Some(MessageId::String("m-1".into()))
    );
    let bare = encode(Message::builder().data(Binary::from(vec![5u8])).build());
    let rewritten = rewrite_application_properties(&bare, &changes).unwrap();
    assert_eq!(decode(&rewritten).application_properties.unwrap().len(), 2);
    assert!(inspect(&rewritten).is_ok());
}

#[test]
fn batch_is_split_into_its_messages() {
    let first = client_message();
    let second = encode(
        Message::builder()
            .properties(
                Properties::builder()
                    .message_id(String::from("m-2"))
                    .build(),
            )
            .data(Binary::from(vec![7u8]))
            .build(),
    );
    let batch: Message<Body<Value>> = Message::builder()
        .properties(
            Properties::builder()
                .message_id(String::from("m-1"))
                .build(),
        )
        .body(Body::Data(
            vec![
                Data(Binary::from(first.clone())),
                Data(Binary::from(second.clone())),
            ]
            .into(),
        ))
        .build();
    let raw = serde_amqp::to_vec(&Serializable(batch)).unwrap();
    let parts: Vec<_> = batch_messages(&raw).map(Result::unwrap).collect();
    assert_eq!(parts, vec![first.as_slice(), second.as_slice()]);
}

#[test]
fn long_values_use_32_bit_sizes() {
    let body = vec![0u8; 70_000];
    let text = "x".repeat(300);
    let raw = encode(
        Message::builder()
            .properties(Properties::builder().message_id(text.clone()).build())
            .data(Binary::from(body.clone()))
            .build(),
    );
    assert_eq!(inspect(&raw).unwrap().size, raw.len());
    let mut out = Vec::new();
    let long_reason = Stamp {
        dead_letter_description: Some(&text),
        ..stamp()
    };
    encode_delivery(&raw, &long_reason, &mut out).unwrap();
    let message = decode(&out);
    assert_eq!(
        message
            .application_properties
            .unwrap()
            .get(DEAD_LETTER_DESCRIPTION),
        Some(&SimpleValue::String(text))
    );
}

#[test]
fn message_id_is_added_or_replaced_keeping_the_other_properties() {
    let bare = encode(Message::builder().data(Binary::from(vec![5u8])).build());
    assert!(!inspect(&bare).unwrap().has_message_id);
    let with_id = with_message_id(&bare, "abc").unwrap();
    assert!(inspect(&with_id).unwrap().has_message_id);
    let message = decode(&with_id);
    assert_eq!(
        message.properties.unwrap().message_id,
        Some(MessageId::String("abc".into()))
    );

    let session_only = encode(
        Message::builder()
            .properties(Properties::builder().group_id(String::from("s")).build())
            .application_properties(ApplicationProperties::builder().insert("k", "v").build())
            .data(Binary::from(vec![5u8]))
            .build(),
    );
    let rewritten = with_message_id(&session_only, "id-2").unwrap();
    let info = inspect(&rewritten).unwrap();
    assert_eq!(info.session_id, Some("s"));
    let message = decode(&rewritten);
    assert_eq!(
        message.properties.unwrap().message_id,
        Some(MessageId::String("id-2".into()))
    );
    assert_eq!(message.application_properties.unwrap().len(), 1);
}

#[test]
fn hostile_nesting_is_an_error_not_a_stack_overflow() {
    let mut deep = vec![0x00u8; 1_000_000];
    deep.push(0x40);
    assert!(inspect(&deep).is_err());
    let mut wrapped = Vec::new();
    for _ in 0..100 {
        wrapped.extend_from_slice(&[0x00, 0x53, 0x01]);
    }
    wrapped.push(0x40);
    assert_eq!(
        Reader::new(&wrapped).value(),
        Err(CodecError::Shape("described values nested too deeply"))
    );
}

/// Found by the `broker_request` fuzz target: a header whose second field has an invalid
/// constructor passed `inspect` (which skipped it) and failed `encode_delivery`, so the
/// queued message could never be delivered and the receiver's pump retried it forever.
/// Every message `inspect` accepts must re-encode; so must its application properties.
#[test]
fn inspect_refuses_what_encode_delivery_cannot_encode() {
    let data = [0x00, 0x53, 0x75, 0xa0, 0x01, b'x'];
    let bad_header = [
        0x00, 0x53, 0x70, 0xc0, 0x08, 0x03, 0x41, 0x20, 0x70, 0, 0, 0xea, 0x60,
    ];
    let bad_app_properties = [0x00, 0x53, 0x74, 0xc0, 0x01, 0x00];
    for (what, section) in [
        ("header", &bad_header[..]),
        ("application properties", &bad_app_properties[..]),
    ] {
        let message = [section, &data[..]].concat();
        let dead_letter = Stamp {
            dead_letter_reason: Some("reason"),
            ..stamp()
        };
        assert!(
            encode_delivery(&message, &dead_letter, &mut Vec::new()).is_err(),
            "{what}: the delivery cannot be encoded"
        );
        assert!(inspect(&message).is_err(), "{what}: refused at the door");
    }
}
