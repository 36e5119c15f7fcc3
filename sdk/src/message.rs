//! The received message, as a handler sees it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

/// One value of a message's application properties (the AMQP simple types Service Bus carries).
#[derive(Debug, Clone, PartialEq)]
pub enum PropertyValue {
    /// AMQP null.
    Null,
    /// A boolean.
    Bool(bool),
    /// Any signed integer (byte, short, int, long).
    Long(i64),
    /// Any unsigned integer (ubyte, ushort, uint, ulong).
    ULong(u64),
    /// A float or double.
    Double(f64),
    /// A string or symbol.
    String(String),
    /// Binary data.
    Binary(Bytes),
    /// A timestamp.
    Timestamp(SystemTime),
    /// A UUID, in RFC 4122 byte order.
    Uuid([u8; 16]),
}

impl PropertyValue {
    /// The string, when this value is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PropertyValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The value as an `i64`, when it is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            PropertyValue::Long(v) => Some(v),
            PropertyValue::ULong(v) => i64::try_from(v).ok(),
            _ => None,
        }
    }
}

impl From<&str> for PropertyValue {
    fn from(value: &str) -> Self {
        PropertyValue::String(value.to_owned())
    }
}

impl From<String> for PropertyValue {
    fn from(value: String) -> Self {
        PropertyValue::String(value)
    }
}

impl From<i64> for PropertyValue {
    fn from(value: i64) -> Self {
        PropertyValue::Long(value)
    }
}

impl From<bool> for PropertyValue {
    fn from(value: bool) -> Self {
        PropertyValue::Bool(value)
    }
}

impl std::fmt::Display for PropertyValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PropertyValue::Null => f.write_str("null"),
            PropertyValue::Bool(v) => write!(f, "{v}"),
            PropertyValue::Long(v) => write!(f, "{v}"),
            PropertyValue::ULong(v) => write!(f, "{v}"),
            PropertyValue::Double(v) => write!(f, "{v}"),
            PropertyValue::String(v) => f.write_str(v),
            PropertyValue::Binary(v) => write!(f, "<{} bytes>", v.len()),
            PropertyValue::Timestamp(v) => write!(f, "{v:?}"),
            PropertyValue::Uuid(v) => {
                for (i, b) in v.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        f.write_str("-")?;
                    }
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// A message's application properties: string keys, simple values, in key order.
pub type ApplicationPropertyMap = BTreeMap<String, PropertyValue>;

/// A received Service Bus message, owned by the handler.
///
/// Extract it whole with the `Message` argument, or take only what you need with `Json<T>`,
/// `Body`, `String`, `SessionId`, `DeliveryCount` or `ApplicationProperties`.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(message: Message) -> Result<(), HandlerError> {
///     let id = message.message_id.as_deref().unwrap_or("?");
///     let body = message.body_str().ok_or_else(|| HandlerError::dead_letter("NotText", id))?;
///     let _ = body;
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// place(Message::with_body("hello").id("m-1")).await.unwrap();
/// let error = place(Message::with_body(vec![0xff]).id("m-2")).await.unwrap_err();
/// assert_eq!(error.dead_letter_reason(), Some("NotText"));
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Message {
    /// The body (the concatenated data sections; a string or binary amqp-value body as bytes).
    pub body: Bytes,
    /// The application-defined message id.
    pub message_id: Option<String>,
    /// The session the message belongs to (AMQP `group-id`).
    pub session_id: Option<String>,
    /// The correlation id.
    pub correlation_id: Option<String>,
    /// The content type, e.g. `application/json`.
    pub content_type: Option<String>,
    /// The subject (formerly "label").
    pub subject: Option<String>,
    /// The `to` address.
    pub to: Option<String>,
    /// The address to reply to.
    pub reply_to: Option<String>,
    /// The session to reply to.
    pub reply_to_session_id: Option<String>,
    /// The message's time to live.
    pub time_to_live: Option<Duration>,
    /// When the broker accepted the message.
    pub enqueued_time: Option<SystemTime>,
    /// The broker-assigned sequence number.
    pub sequence_number: i64,
    /// How many times this message has been delivered, this delivery included (1 on first).
    pub delivery_count: u32,
    /// Until when this receiver holds the lock on the message (or on its session).
    pub locked_until: Option<SystemTime>,
    /// The lock token of this delivery (peek-lock), as a GUID string.
    pub lock_token: Option<String>,
    /// Application properties set by the sender.
    pub application_properties: ApplicationPropertyMap,
    /// The entity the message was dead-lettered from, when read from a dead-letter queue.
    pub dead_letter_source: Option<String>,
    /// Why the message was dead-lettered, when read from a dead-letter queue.
    pub dead_letter_reason: Option<String>,
    /// The dead-letter error description, when read from a dead-letter queue.
    pub dead_letter_error_description: Option<String>,
}

impl Message {
    /// A message with this body and nothing else set; handy in tests and for sending.
    pub fn with_body(body: impl Into<Bytes>) -> Self {
        Message {
            body: body.into(),
            delivery_count: 1,
            ..Message::default()
        }
    }

    /// Sets the session id (builder style).
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.session_id = Some(session_id.into());
        self
    }

    /// Sets the message id (builder style).
    pub fn id(mut self, message_id: impl Into<String>) -> Self {
        self.message_id = Some(message_id.into());
        self
    }

    /// Sets an application property (builder style).
    pub fn property(mut self, key: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
        self.application_properties.insert(key.into(), value.into());
        self
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }
}
