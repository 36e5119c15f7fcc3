//! Request/response messages of `$cbs` and `<entity>/$management`: decoding a request,
//! encoding a reply (correlation id of the request's message-id type, both spellings of the
//! status properties, amqp-value map body).

use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{ApplicationProperties, Body, Message, MessageId, Properties};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Symbol, Value};

/// A decoded request.
#[derive(Debug, Clone)]
pub struct Request {
    /// `properties.message-id`, echoed as the reply's correlation-id with the same type.
    pub message_id: Option<MessageId>,
    /// `properties.reply-to`.
    pub reply_to: Option<String>,
    /// Application properties.
    pub properties: OrderedMap<String, SimpleValue>,
    /// The amqp-value body (`Value::Null` when the body is not an amqp-value).
    pub body: Value,
}

impl Request {
    /// Decodes an encoded request message.
    pub fn decode(payload: &[u8]) -> Result<Self, String> {
        // serde_amqp can panic or recurse without bound on malformed bytes: contained.
        let message: Deserializable<Message<Body<Value>>> = crate::amqp::decode_untrusted(payload)
            .map_err(|e| format!("undecodable request: {e}"))?;
        let message = message.0;
        let (message_id, reply_to) = message
            .properties
            .map(|p| (p.message_id, p.reply_to))
            .unwrap_or_default();
        Ok(Self {
            message_id,
            reply_to,
            properties: message
                .application_properties
                .map(|a| a.0)
                .unwrap_or_default(),
            body: match message.body {
                Body::Value(v) => v.0,
                _ => Value::Null,
            },
        })
    }

    /// An application property as text (string or symbol).
    pub fn property(&self, key: &str) -> Option<&str> {
        match self.properties.get(key)? {
            SimpleValue::String(s) => Some(s),
            SimpleValue::Symbol(s) => Some(s.as_str()),
            _ => None,
        }
    }

    /// The body map's entry under a string (or symbol) key.
    pub fn field(&self, key: &str) -> Option<&Value> {
        match &self.body {
            Value::Map(map) => map.iter().find_map(|(k, v)| match k {
                Value::String(s) if s == key => Some(v),
                Value::Symbol(s) if s.as_str() == key => Some(v),
                _ => None,
            }),
            _ => None,
        }
    }
}

/// A reply's status, description and, on failure, error condition.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// HTTP-like status code (200, 202, 204, 4xx, 5xx).
    pub code: i32,
    /// Human-readable text.
    pub description: String,
    /// The AMQP error condition of a failure.
    pub condition: Option<String>,
}

impl Status {
    /// A success status without an error condition.
    pub fn ok(code: i32, description: &str) -> Self {
        Self {
            code,
            description: description.to_owned(),
            condition: None,
        }
    }

    /// A failure.
    pub fn error(code: i32, condition: &str, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            condition: Some(condition.to_owned()),
        }
    }
}

/// Encodes a reply to `request_id`: both `status-code`/`statusCode` (int), both description
/// spellings, both error-condition spellings on failure, and `body` as an amqp-value.
pub fn encode_reply(request_id: Option<MessageId>, status: &Status, body: Value) -> Vec<u8> {
    let mut properties = ApplicationProperties::builder()
        .insert("statusCode", SimpleValue::Int(status.code))
        .insert("status-code", SimpleValue::Int(status.code))
        .insert(
            "statusDescription",
            SimpleValue::String(status.description.clone()),
        )
        .insert(
            "status-description",
            SimpleValue::String(status.description.clone()),
        );
    if let Some(condition) = &status.condition {
        properties = properties
            .insert(
                "errorCondition",
                SimpleValue::Symbol(Symbol::from(condition.as_str())),
            )
            .insert(
                "error-condition",
                SimpleValue::Symbol(Symbol::from(condition.as_str())),
            );
    }
    let message = Message::builder()
        .properties(Properties {
            correlation_id: request_id,
            ..Properties::default()
        })
        .application_properties(properties.build())
        .value(body)
        .build();
    // Encoding owned AMQP values into a Vec cannot fail.
    serde_amqp::to_vec(&Serializable(message)).unwrap_or_default()
}

/// A body map with string keys.
pub fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = OrderedMap::new();
    for (key, value) in entries {
        map.insert(Value::String(key.to_owned()), value);
    }
    Value::Map(map)
}

#[cfg(test)]
mod tests {
    use fe2o3_amqp_types::primitives::Uuid;

    use super::*;

    #[test]
    fn malformed_request_bytes_are_an_error_not_a_panic() {
        // A list8 whose size is 0 makes serde_amqp 0.18 underflow; deep nesting recurses.
        for bad in [
            &[0xc0u8, 0x00][..],
            &[0x00, 0x53, 0x77, 0xc0, 0x00],
            &[0xd0; 64],
        ] {
            assert!(Request::decode(bad).is_err());
        }
    }

    fn request(message_id: MessageId, body: Value) -> Vec<u8> {
        let message = Message::builder()
            .properties(Properties {
                message_id: Some(message_id),
                reply_to: Some("reply-link".into()),
                ..Properties::default()
            })
            .application_properties(
                ApplicationProperties::builder()
                    .insert("operation", SimpleValue::String("put-token".into()))
                    .insert("type", SimpleValue::Symbol(Symbol::from("jwt")))
                    .build(),
            )
            .value(body)
            .build();
        serde_amqp::to_vec(&Serializable(message)).unwrap()
    }

    #[test]
    fn decodes_properties_and_body() {
        let raw = request(
            MessageId::Ulong(7),
            map([("session-id", Value::String("s".into()))]),
        );
        let req = Request::decode(&raw).unwrap();
        assert_eq!(req.message_id, Some(MessageId::Ulong(7)));
        assert_eq!(req.reply_to.as_deref(), Some("reply-link"));
        assert_eq!(req.property("operation"), Some("put-token"));
        assert_eq!(req.property("type"), Some("jwt"));
        assert_eq!(req.field("session-id"), Some(&Value::String("s".into())));
        assert_eq!(req.field("missing"), None);
    }

    /// Found by the `message_sections` fuzz target: a well-formed request (it passes
    /// `validate_encoded`) on which serde_amqp subtracts with overflow while reading nested
    /// maps inside an array. The panic is contained; the request is refused.
    #[test]
    fn a_request_serde_amqp_panics_on_is_an_error() {
        let raw = include_bytes!("../../tests/data/fuzz/request-serde-amqp-map-underflow.bin");
        assert!(crate::amqp::validate_encoded(raw).is_ok(), "well formed");
        let error = Request::decode(raw).unwrap_err();
        assert!(error.contains("decoder failed"), "{error}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(Request::decode(&[0x00, 0x53, 0x77, 0xff]).is_err());
    }

    #[test]
    fn reply_keeps_the_id_type_and_sends_both_spellings() {
        let id = MessageId::Uuid(Uuid::from([1u8; 16]));
        let raw = encode_reply(Some(id.clone()), &Status::ok(202, "Accepted"), Value::Null);
        let reply: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(&raw).unwrap();
        let reply = reply.0;
        assert_eq!(reply.properties.unwrap().correlation_id, Some(id));
        let props = reply.application_properties.unwrap();
        assert_eq!(props.get("status-code"), Some(&SimpleValue::Int(202)));
        assert_eq!(props.get("statusCode"), Some(&SimpleValue::Int(202)));
        assert_eq!(
            props.get("statusDescription"),
            Some(&SimpleValue::String("Accepted".into()))
        );
        assert!(props.get("error-condition").is_none() && props.get("errorCondition").is_none());
    }

    #[test]
    fn failure_reply_carries_the_condition() {
        let status = Status::error(410, "com.microsoft:session-lock-lost", "gone");
        let raw = encode_reply(Some(MessageId::String("x".into())), &status, map([]));
        let reply: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(&raw).unwrap();
        let props = reply.0.application_properties.unwrap();
        assert_eq!(
            props.get("errorCondition"),
            Some(&SimpleValue::Symbol(Symbol::from(
                "com.microsoft:session-lock-lost"
            )))
        );
        assert_eq!(props.get("statusCode"), Some(&SimpleValue::Int(410)));
    }
}
