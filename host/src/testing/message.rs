//! [`TestMessage`]: a message a test sends, built like the SDKs build theirs.

use berth::{Message, PropertyValue};
use bytes::Bytes;

/// A message for [`TestHost::send_to`](super::TestHost::send_to): a body, then the session
/// id, message id and application properties the test needs.
///
/// ```
/// use berth_host::testing::TestMessage;
///
/// let message = TestMessage::json(&serde_json::json!({ "step": "created" }))
///     .session("cust-1")
///     .id("cust-1-1")
///     .property("MessageType", "OrderStep");
/// assert_eq!(message.message_id(), Some("cust-1-1"));
/// ```
///
/// A message without an id gets one when it is sent (`test-1`, `test-2`… in the order the
/// test host sends them), so every invocation can be told apart by message id.
#[derive(Debug, Clone)]
pub struct TestMessage {
    message: Message,
    /// Why the body could not be made (a value `serde_json` cannot write); the send fails
    /// with it.
    invalid: Option<String>,
}

impl TestMessage {
    /// A message with this body, as bytes.
    pub fn bytes(body: impl Into<Bytes>) -> Self {
        TestMessage {
            message: Message::with_body(body),
            invalid: None,
        }
    }

    /// A message with this text body (UTF-8).
    pub fn text(body: impl Into<String>) -> Self {
        TestMessage::bytes(body.into())
    }

    /// A message whose body is `value` as JSON, with content type `application/json`. A
    /// value JSON cannot represent (a map with non-string keys) makes the send fail, saying
    /// why.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> Self {
        match serde_json::to_vec(value) {
            Ok(body) => {
                let mut message = TestMessage::bytes(body);
                message.message.content_type = Some("application/json".to_owned());
                message
            }
            Err(e) => TestMessage {
                message: Message::default(),
                invalid: Some(format!("the message body cannot be written as JSON: {e}")),
            },
        }
    }

    /// Sets the session id.
    pub fn session(mut self, session_id: impl Into<String>) -> Self {
        self.message.session_id = Some(session_id.into());
        self
    }

    /// Sets the message id.
    pub fn id(mut self, message_id: impl Into<String>) -> Self {
        self.message.message_id = Some(message_id.into());
        self
    }

    /// Sets an application property.
    pub fn property(mut self, key: impl Into<String>, value: impl Into<PropertyValue>) -> Self {
        self.message
            .application_properties
            .insert(key.into(), value.into());
        self
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.message.content_type = Some(content_type.into());
        self
    }

    /// Sets the correlation id.
    pub fn correlation_id(mut self, correlation_id: impl Into<String>) -> Self {
        self.message.correlation_id = Some(correlation_id.into());
        self
    }

    /// Sets the subject (label).
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.message.subject = Some(subject.into());
        self
    }

    /// The message id, if set.
    pub fn message_id(&self) -> Option<&str> {
        self.message.message_id.as_deref()
    }

    /// The message to send, with `fallback_id` as its id when it has none; `Err` when its
    /// body could not be made.
    pub(super) fn into_message(
        self,
        fallback_id: impl FnOnce() -> String,
    ) -> Result<Message, String> {
        if let Some(why) = self.invalid {
            return Err(why);
        }
        let mut message = self.message;
        if message.message_id.is_none() {
            message.message_id = Some(fallback_id());
        }
        Ok(message)
    }
}

impl From<Message> for TestMessage {
    /// Sends this message as it is (its id too; one is given if it has none).
    fn from(message: Message) -> Self {
        TestMessage {
            message,
            invalid: None,
        }
    }
}
