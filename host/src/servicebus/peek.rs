//! Browsing an entity without locking anything: `com.microsoft:peek-message` on
//! `<entity>/$management` (a queue, a subscription, or either one's `$DeadLetterQueue`),
//! optionally restricted to one session.
//!
//! Each entry of the response is a whole encoded AMQP message; besides what a receiver sees,
//! a peek shows the message's state (`x-opt-message-state`: active, deferred, scheduled).
//!
//! Whatever a broker answers, a page holds only messages at or after the sequence number
//! asked for, in sequence order, each once ([`in_order_from`]): so a caller that continues
//! after the last one never sees a message twice nor goes backwards, and a broker that
//! answers only with earlier messages (it does not move forward) is an error instead of a
//! loop.

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
    /// (more) messages. Whatever the broker answers, the result holds no message before
    /// `from_sequence_number`, none twice, at most `count`, in sequence order; a non-empty
    /// answer with nothing at or after `from_sequence_number` is an error (the broker does
    /// not move forward).
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
        let asked = i32::try_from(count).unwrap_or(i32::MAX);
        let connection = self.connection().await?;
        let management = connection.management(entity).await?;
        let page = management
            .peek(from_sequence_number, asked, session_id)
            .await?;
        in_order_from(page, from_sequence_number, count as usize)
    }
}

/// The messages of `page` at or after `from`, in sequence order, each sequence number once,
/// at most `count`. A page that is not empty but has nothing at or after `from` is an error
/// saying so (a broker that does not move forward).
pub(crate) fn in_order_from(
    mut page: Vec<PeekedMessage>,
    from: i64,
    count: usize,
) -> Result<Vec<PeekedMessage>, ServiceBusError> {
    let answered = page.len();
    let (lowest, highest) = page
        .iter()
        .map(|p| p.message.sequence_number)
        .fold((i64::MAX, i64::MIN), |(lo, hi), n| (lo.min(n), hi.max(n)));
    page.retain(|p| p.message.sequence_number >= from);
    if page.is_empty() && answered > 0 {
        return Err(ServiceBusError::new(
            ErrorKind::Other,
            format!(
                "the broker answered a peek from sequence number {from} with {answered} \
                 message{} numbered {lowest} to {highest}, none at or after {from}: it does \
                 not move forward",
                if answered == 1 { "" } else { "s" }
            ),
        ));
    }
    page.sort_by_key(|p| p.message.sequence_number);
    page.dedup_by_key(|p| p.message.sequence_number);
    page.truncate(count);
    Ok(page)
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn page(numbers: &[i64]) -> Vec<PeekedMessage> {
        numbers
            .iter()
            .map(|&n| {
                let mut message = Message::with_body(n.to_string());
                message.sequence_number = n;
                PeekedMessage {
                    message,
                    state: MessageState::Active,
                }
            })
            .collect()
    }

    fn numbers(page: &[PeekedMessage]) -> Vec<i64> {
        page.iter().map(|p| p.message.sequence_number).collect()
    }

    #[test]
    fn pages_are_cut_to_what_was_asked_sorted_and_without_repeats() {
        let kept = in_order_from(page(&[3, 9, 5, 5, 7, 2]), 4, 10).unwrap();
        assert_eq!(numbers(&kept), [5, 7, 9]);
        let kept = in_order_from(page(&[6, 5, 4]), 4, 2).unwrap();
        assert_eq!(numbers(&kept), [4, 5]);
        assert!(in_order_from(Vec::new(), 4, 10).unwrap().is_empty());
    }

    #[test]
    fn a_page_of_only_earlier_messages_is_an_error_naming_them() {
        let error = in_order_from(page(&[2, 1, 3]), 4, 10).unwrap_err();
        assert_eq!(error.kind, ErrorKind::Other);
        assert!(
            error
                .message
                .contains("from sequence number 4 with 3 messages numbered 1 to 3"),
            "{error}"
        );
    }

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
