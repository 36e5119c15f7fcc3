//! AMQP message ↔ [`berth::Message`].
//!
//! Receiving: the body is the data sections (one section is taken without copying), or a
//! string/binary amqp-value; any other amqp-value or amqp-sequence body is handed over in its
//! AMQP encoding. Service Bus annotations fill sequence number, enqueued time, lock expiry and
//! dead-letter source; `DeadLetterReason`/`DeadLetterErrorDescription` stay application
//! properties and are also copied to their fields. The delivery count is the header's
//! (prior attempts) + 1.

use std::time::Duration;

use berth::{ApplicationPropertyMap, Message};
use bytes::{Bytes, BytesMut};
use fe2o3_amqp_types::messaging::annotations::AnnotationKey;
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Body, Data, Header, Message as AmqpMessage, MessageAnnotations,
    MessageId, Properties,
};
use fe2o3_amqp_types::primitives::{Binary, Value};

use super::{lock_token, property_value, ticks};

/// An AMQP message as Service Bus delivers it (any body type).
pub(crate) type Incoming = AmqpMessage<Body<Value>>;

/// Converts a received message. `lock_token` is the delivery's lock token (RFC order), if any.
pub(crate) fn to_berth(message: Incoming, lock_token: Option<&[u8; 16]>) -> Message {
    let mut out = Message::default();
    let header = message.header.unwrap_or_default();
    out.delivery_count = header.delivery_count.saturating_add(1);
    out.time_to_live = header.ttl.map(|ms| Duration::from_millis(u64::from(ms)));
    if let Some(properties) = message.properties {
        apply_properties(&mut out, properties);
    }
    if let Some(annotations) = message.message_annotations {
        apply_annotations(&mut out, &annotations);
    }
    if let Some(application) = message.application_properties {
        out.application_properties = application
            .0
            .into_iter()
            .map(|(k, v)| (k, property_value::from_simple(v)))
            .collect();
        let text = |key: &str| {
            out.application_properties
                .get(key)
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        out.dead_letter_reason = text("DeadLetterReason");
        out.dead_letter_error_description = text("DeadLetterErrorDescription");
    }
    out.lock_token = lock_token.map(lock_token::to_string);
    out.body = body_bytes(message.body);
    out
}

fn apply_properties(out: &mut Message, p: Properties) {
    out.message_id = p.message_id.map(message_id_text);
    out.correlation_id = p.correlation_id.map(message_id_text);
    out.content_type = p.content_type.map(|s| s.0);
    out.subject = p.subject;
    out.to = p.to;
    out.reply_to = p.reply_to;
    out.session_id = p.group_id;
    out.reply_to_session_id = p.reply_to_group_id;
}

fn apply_annotations(out: &mut Message, annotations: &MessageAnnotations) {
    let get = |key: &str| annotations.0.get(&key as &dyn AnnotationKey);
    if let Some(seq) = get("x-opt-sequence-number").and_then(integer) {
        out.sequence_number = seq;
    }
    out.enqueued_time = get("x-opt-enqueued-time").and_then(ticks::time_value);
    out.locked_until = get("x-opt-locked-until").and_then(ticks::time_value);
    out.dead_letter_source = match get("x-opt-deadletter-source") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Symbol(s)) => Some(s.0.clone()),
        _ => None,
    };
}

/// Any AMQP integer as an `i64` (Service Bus sends longs; other clients may not).
pub(crate) fn integer(value: &Value) -> Option<i64> {
    match *value {
        Value::Long(v) => Some(v),
        Value::Int(v) => Some(v.into()),
        Value::Short(v) => Some(v.into()),
        Value::Byte(v) => Some(v.into()),
        Value::Ulong(v) => i64::try_from(v).ok(),
        Value::Uint(v) => Some(v.into()),
        Value::Ushort(v) => Some(v.into()),
        Value::Ubyte(v) => Some(v.into()),
        _ => None,
    }
}

/// A message id as text: strings as they are, uuids in GUID form, numbers in decimal,
/// binary ids in lower-case hex.
pub(crate) fn message_id_text(id: MessageId) -> String {
    match id {
        MessageId::String(s) => s,
        MessageId::Ulong(n) => n.to_string(),
        MessageId::Uuid(u) => lock_token::to_string(&u.into_inner()),
        MessageId::Binary(b) => b.iter().map(|byte| format!("{byte:02x}")).collect(),
    }
}

fn body_bytes(body: Body<Value>) -> Bytes {
    match body {
        Body::Data(sections) => {
            let mut sections = sections.into_inner();
            if sections.len() == 1 {
                return sections
                    .pop()
                    .map(|Data(b)| Bytes::from(b.into_vec()))
                    .unwrap_or_default();
            }
            let mut joined = BytesMut::with_capacity(sections.iter().map(|d| d.0.len()).sum());
            for Data(bytes) in &sections {
                joined.extend_from_slice(bytes);
            }
            joined.freeze()
        }
        Body::Value(v) => match v.0 {
            Value::String(s) => Bytes::from(s),
            Value::Binary(b) => Bytes::from(b.into_vec()),
            Value::Null => Bytes::new(),
            other => serde_amqp::to_vec(&other)
                .map(Bytes::from)
                .unwrap_or_default(),
        },
        Body::Sequence(seqs) => {
            let items: Vec<Value> = seqs.into_inner().into_iter().flat_map(|s| s.0).collect();
            serde_amqp::to_vec(&Value::List(items))
                .map(Bytes::from)
                .unwrap_or_default()
        }
        Body::Empty => Bytes::new(),
    }
}

/// Builds the AMQP message to send: one data section with the body, the properties Service
/// Bus reads (message id, session id as `group-id`, correlation id, content type, subject,
/// to, reply-to, reply-to session), time to live and the application properties.
pub(crate) fn to_amqp(message: &Message) -> AmqpMessage<Data> {
    let properties = Properties {
        message_id: message.message_id.clone().map(MessageId::String),
        correlation_id: message.correlation_id.clone().map(MessageId::String),
        content_type: message.content_type.as_deref().map(Into::into),
        subject: message.subject.clone(),
        to: message.to.clone(),
        reply_to: message.reply_to.clone(),
        group_id: message.session_id.clone(),
        reply_to_group_id: message.reply_to_session_id.clone(),
        ..Properties::new()
    };
    let header = message.time_to_live.map(|ttl| Header {
        ttl: Some(u32::try_from(ttl.as_millis()).unwrap_or(u32::MAX)),
        ..Header::default()
    });
    let application_properties = (!message.application_properties.is_empty()).then(|| {
        ApplicationProperties(
            message
                .application_properties
                .iter()
                .map(|(k, v)| (k.clone(), property_value::to_simple(v)))
                .collect(),
        )
    });
    AmqpMessage::builder()
        .header(header)
        .properties(properties)
        .application_properties(application_properties)
        .data(Binary::from(message.body.to_vec()))
        .build()
}

/// Application properties to send along with a settlement, as AMQP fields.
pub(crate) fn fields(properties: &ApplicationPropertyMap) -> fe2o3_amqp_types::definitions::Fields {
    properties
        .iter()
        .map(|(k, v)| (property_value::symbol(k), property_value::to_value(v)))
        .collect()
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
