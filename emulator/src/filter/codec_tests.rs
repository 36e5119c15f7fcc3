use std::time::Duration;

use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Body, Header, Message, MessageId, Properties,
};
use fe2o3_amqp_types::primitives::{Binary, SimpleValue, Symbol, Uuid, Value as Amqp};

use super::*;
use crate::filter::decode_view;

fn message(properties: Properties, app: ApplicationProperties) -> Vec<u8> {
    let message = Message::builder()
        .header(Header {
            ttl: Some(60_000),
            ..Header::default()
        })
        .properties(properties)
        .application_properties(app)
        .body(Body::<Amqp>::Data(
            vec![Binary::from(b"payload".to_vec()).into()].into(),
        ))
        .build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

fn sample() -> Vec<u8> {
    message(
        Properties {
            message_id: Some(MessageId::Uuid(Uuid::from([0xab; 16]))),
            to: Some("dest".into()),
            subject: Some("created".into()),
            correlation_id: Some(MessageId::Ulong(42)),
            content_type: Some(Symbol::from("application/json")),
            group_id: Some("s1".into()),
            reply_to_group_id: Some("rs".into()),
            ..Properties::default()
        },
        ApplicationProperties::builder()
            .insert("color", SimpleValue::String("red".into()))
            .insert("qty", SimpleValue::Int(3))
            .insert("big", SimpleValue::Ulong(u64::MAX))
            .insert("ratio", SimpleValue::Double(0.5.into()))
            .insert("ok", SimpleValue::Bool(true))
            .insert("bytes", SimpleValue::Binary(Binary::from(vec![1u8])))
            .build(),
    )
}

#[test]
fn the_view_reads_system_and_user_properties() {
    let raw = sample();
    let view = decode_view(&raw).unwrap();
    assert_eq!(
        view.message_id.as_deref(),
        Some("abababab-abab-abab-abab-abababababab")
    );
    assert_eq!(view.correlation_id.as_deref(), Some("42"));
    assert_eq!(view.to.as_deref(), Some("dest"));
    assert_eq!(view.label.as_deref(), Some("created"));
    assert_eq!(view.content_type.as_deref(), Some("application/json"));
    assert_eq!(view.session_id.as_deref(), Some("s1"));
    assert_eq!(view.reply_to_session_id.as_deref(), Some("rs"));
    assert_eq!(view.reply_to, None);
    assert_eq!(view.time_to_live, Some(Duration::from_secs(60)));
    assert_eq!(view.size, raw.len() as i64);
    assert_eq!(view.user["color"], Value::String("red".into()));
    assert_eq!(view.user["qty"], Value::Long(3));
    assert_eq!(view.user["big"], Value::Other, "a ulong beyond i64 cannot be compared");
    assert_eq!(view.user["ratio"], Value::Double(0.5));
    assert_eq!(view.user["ok"], Value::Bool(true));
    assert_eq!(view.user["bytes"], Value::Other);
}

#[test]
fn a_message_without_sections_has_an_empty_view() {
    let raw = serde_amqp::to_vec(&Serializable(
        Message::builder().value(Amqp::Null).build(),
    ))
    .unwrap();
    let view = decode_view(&raw).unwrap();
    assert_eq!(view.label, None);
    assert!(view.user.is_empty());
    assert!(decode_view(&[0x00, 0x53]).is_err(), "a cut message is an error");
}

fn decoded(raw: &[u8]) -> Message<Body<Amqp>> {
    let m: Deserializable<Message<Body<Amqp>>> = serde_amqp::from_slice(raw).unwrap();
    m.0
}

#[test]
fn changes_are_written_back_and_the_rest_is_kept() {
    let raw = sample();
    let before = decode_view(&raw).unwrap();
    let mut after = before.clone();
    after.user.insert("color".into(), Value::String("blue".into()));
    after.user.remove("qty");
    after.user.insert("RuleName".into(), Value::String("r1".into()));
    after.label = Some("updated".into());
    after.time_to_live = Some(Duration::from_secs(5));
    let out = encode_changes(&raw, &before, &after).unwrap();
    let view = decode_view(&out).unwrap();
    assert_eq!(view.label.as_deref(), Some("updated"));
    assert_eq!(view.time_to_live, Some(Duration::from_secs(5)));
    assert_eq!(view.user["color"], Value::String("blue".into()));
    assert_eq!(view.user["RuleName"], Value::String("r1".into()));
    assert!(!view.user.contains_key("qty"));
    let message = decoded(&out);
    let properties = message.properties.unwrap();
    assert_eq!(
        properties.message_id,
        Some(MessageId::Uuid(Uuid::from([0xab; 16]))),
        "an unchanged id keeps its type"
    );
    assert_eq!(properties.correlation_id, Some(MessageId::Ulong(42)));
    let app = message.application_properties.unwrap();
    assert_eq!(app.get("big"), Some(&SimpleValue::Ulong(u64::MAX)));
    assert_eq!(app.get("bytes"), Some(&SimpleValue::Binary(Binary::from(vec![1u8]))));
    match message.body {
        Body::Data(data) => {
            let first = data.into_iter().next().unwrap();
            assert_eq!(first.0.as_slice(), b"payload")
        }
        other => panic!("body changed: {other:?}"),
    }
}

#[test]
fn sections_the_message_lacked_are_added_in_order() {
    let raw = serde_amqp::to_vec(&Serializable(
        Message::builder().value(Amqp::String("v".into())).build(),
    ))
    .unwrap();
    let before = decode_view(&raw).unwrap();
    let mut after = before.clone();
    after.correlation_id = Some("c".into());
    after.user.insert("n".into(), Value::Long(-7));
    after.user.insert("when".into(), Value::DateTime(std::time::UNIX_EPOCH));
    let out = encode_changes(&raw, &before, &after).unwrap();
    let view = decode_view(&out).unwrap();
    assert_eq!(view.correlation_id.as_deref(), Some("c"));
    assert_eq!(view.user["n"], Value::Long(-7));
    assert_eq!(view.user["when"], Value::DateTime(std::time::UNIX_EPOCH));
    assert!(matches!(decoded(&out).body, Body::Value(v) if v.0 == Amqp::String("v".into())));
    assert_eq!(
        encode_changes(&raw, &before, &before).unwrap(),
        raw,
        "no change: the same bytes"
    );
}

#[test]
fn durations_round_trip_as_dotnet_timespans() {
    let mut out = Vec::new();
    write_value(&mut out, &Value::Duration(Duration::from_millis(1500)));
    assert_eq!(
        crate::filter::value_of(&out),
        Value::Duration(Duration::from_millis(1500))
    );
}
