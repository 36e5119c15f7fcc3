//! Browsing an entity without locking anything: `com.microsoft:peek-message` on
//! `<entity>/$management` (a queue, a subscription, or either one's `$DeadLetterQueue`),
//! optionally restricted to one session.
//!
//! Each entry of the response is a whole encoded AMQP message; besides what a receiver sees,
//! a peek shows the message's state (`x-opt-message-state`: active, deferred, scheduled).

use berth::{ErrorKind, Message, ServiceBusError};
use fe2o3_amqp_types::messaging::annotations::AnnotationKey;
use fe2o3_amqp_types::messaging::message::__private::Deserializable;

use super::client::ServiceBusClient;
use super::convert::{self, Incoming};
use super::untrusted;

/// Where a peeked message stands in its entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Available to receivers (or locked by one).
    Active,
    /// Set aside by a receiver; only receive-by-sequence-number gets it.
    Deferred,
    /// Waiting for its scheduled enqueue time.
    Scheduled,
}

impl MessageState {
    /// `active`, `deferred` or `scheduled`.
    pub fn name(self) -> &'static str {
        match self {
            MessageState::Active => "active",
            MessageState::Deferred => "deferred",
            MessageState::Scheduled => "scheduled",
        }
    }

    fn from_code(code: i64) -> Self {
        match code {
            1 => MessageState::Deferred,
            2 => MessageState::Scheduled,
            _ => MessageState::Active,
        }
    }
}

/// A message seen by a peek: not locked, not delivered.
#[derive(Debug, Clone)]
pub struct PeekedMessage {
    /// The message. Its `delivery_count` is the number of earlier deliveries (0 for a
    /// message nobody received yet), as the official SDKs report it for peeked messages.
    pub message: Message,
    /// Where it stands.
    pub state: MessageState,
}

impl ServiceBusClient {
    /// Peeks at up to `count` messages of `entity` (a queue, `topic/Subscriptions/sub`, or
    /// either one followed by `/$DeadLetterQueue`), from sequence number
    /// `from_sequence_number` on, in sequence order, without locking them; with
    /// `session_id`, only that session's messages. An empty result means there are no
    /// (more) messages.
    pub async fn peek(
        &self,
        entity: &str,
        from_sequence_number: i64,
        count: u32,
        session_id: Option<&str>,
    ) -> Result<Vec<PeekedMessage>, ServiceBusError> {
        if count == 0 {
            return Ok(Vec::new());
        }
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let connection = self.connection().await?;
        let management = connection.management(entity).await?;
        management
            .peek(from_sequence_number, count, session_id)
            .await
    }
}

/// Decodes one encoded message of a peek response.
pub(crate) fn decode(encoded: &[u8]) -> Result<PeekedMessage, ServiceBusError> {
    let message: Deserializable<Incoming> = untrusted::decode(encoded).map_err(|e| {
        ServiceBusError::new(ErrorKind::Other, format!("undecodable peeked message: {e}"))
    })?;
    let message = message.0;
    let state = message
        .message_annotations
        .as_ref()
        .and_then(|a| a.0.get(&"x-opt-message-state" as &dyn AnnotationKey))
        .and_then(convert::integer)
        .map_or(MessageState::Active, MessageState::from_code);
    let mut message = convert::to_berth(message, None);
    // A peek is not a delivery: report the prior attempts as they are (as .NET does).
    message.delivery_count = message.delivery_count.saturating_sub(1);
    Ok(PeekedMessage { message, state })
}

#[cfg(test)]
mod tests {
    /// Found by the `peeked_message` fuzz target: an empty array whose size hid a malformed
    /// array made serde_amqp subtract with overflow while decoding a peek reply's message.
    #[test]
    fn a_malformed_peeked_message_is_an_error_not_a_panic() {
        let raw = [
            0x00, 0x53, 0x77, 0xe0, 0x08, 0x00, 0x00, 0x53, 0x77, 0xe0, 0x01, 0x01, 0x70,
        ];
        let error = super::decode(&raw).unwrap_err();
        assert!(
            error.to_string().contains("undecodable peeked message"),
            "{error}"
        );
    }

    /// Found by the `peeked_message` fuzz target: well-formed bytes (they pass the structural
    /// check) on which serde_amqp still subtracts with overflow (a map's odd count reached
    /// through an amqp-sequence); the panic is contained and the message refused.
    #[test]
    fn a_peeked_message_serde_amqp_panics_on_is_an_error() {
        let raw = [
            0x00, 0x53, 0x76, 0xc0, 0x08, 0x03, 0x41, 0x40, 0x70, 0x00, 0x00, 0xea, 0x07, 0x00,
            0x53, 0x76, 0xc0, 0x08, 0x03, 0x41, 0xe0, 0x02, 0x00, 0xd1, 0x53, 0x76, 0x00, 0x80,
            0x00, 0x00, 0x00, 0x01, 0x1b, 0x00, 0x6e, 0x00, 0x00, 0x80, 0x00, 0x00, 0x21, 0x2d,
            0x00, 0x77, 0x53, 0x61, 0x53, 0x00,
        ];
        assert!(
            berth_emulator::amqp::validate_encoded(&raw).is_ok(),
            "well formed"
        );
        let error = super::decode(&raw).unwrap_err();
        assert!(error.to_string().contains("decoder failed"), "{error}");
    }
}
