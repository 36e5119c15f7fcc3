//! Deliveries: tags, what the upper layer receives, and the reassembly of multi-frame
//! incoming transfers.

use bytes::{Bytes, BytesMut};

use super::outcome::Outcome;

/// A delivery tag (at most 32 bytes, as the spec allows), stored inline without allocation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeliveryTag {
    len: u8,
    bytes: [u8; DeliveryTag::MAX_LEN],
}

impl DeliveryTag {
    /// Largest tag the AMQP 1.0 spec permits.
    pub const MAX_LEN: usize = 32;

    /// Copies `tag`; `None` if it is longer than [`DeliveryTag::MAX_LEN`].
    pub fn new(tag: &[u8]) -> Option<Self> {
        if tag.len() > Self::MAX_LEN {
            return None;
        }
        let mut bytes = [0u8; Self::MAX_LEN];
        bytes[..tag.len()].copy_from_slice(tag);
        Some(Self {
            len: tag.len() as u8,
            bytes,
        })
    }

    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

impl std::fmt::Debug for DeliveryTag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeliveryTag(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// Message format of a plain AMQP message.
pub const MESSAGE_FORMAT_AMQP: u32 = 0;
/// Message format Service Bus clients use for batches (each Data section is a message).
pub const MESSAGE_FORMAT_BATCH: u32 = 0x8001_3700;

/// A complete message received from the client on one of our receiving links.
#[derive(Clone, Debug)]
pub struct IncomingDelivery {
    /// Session-scoped delivery id; use it with
    /// [`Context::settle_incoming`](super::Context::settle_incoming).
    pub delivery_id: u32,
    /// The client's delivery tag.
    pub tag: DeliveryTag,
    /// The raw encoded message sections (header, annotations, properties, body, ...),
    /// reassembled from all frames into one compact allocation.
    pub payload: Bytes,
    /// `message-format` (0 for plain messages, [`MESSAGE_FORMAT_BATCH`] for batches).
    pub message_format: u32,
    /// The client settled the delivery itself (pre-settled); no disposition is expected.
    pub settled: bool,
}

/// The client's disposition about one delivery we sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryUpdate {
    /// Session-scoped delivery id we assigned in [`Context::send`](super::Context::send).
    pub delivery_id: u32,
    /// The tag we sent the delivery with.
    pub tag: DeliveryTag,
    /// The client's outcome; `None` for a disposition without a terminal state.
    pub outcome: Option<Outcome>,
    /// The client settled the delivery. If `false`, the client waits for our settled
    /// disposition: answer with [`Context::echo_settled`](super::Context::echo_settled).
    pub settled: bool,
}

/// An incoming delivery whose frames are still arriving (`more = true`).
#[derive(Debug)]
pub(crate) struct PartialDelivery {
    pub delivery_id: u32,
    pub tag: DeliveryTag,
    pub message_format: u32,
    pub settled: bool,
    pub buf: BytesMut,
}

impl PartialDelivery {
    pub(crate) fn finish(self) -> IncomingDelivery {
        IncomingDelivery {
            delivery_id: self.delivery_id,
            tag: self.tag,
            payload: self.buf.freeze(),
            message_format: self.message_format,
            settled: self.settled,
        }
    }
}

/// A disposition we still have to send; consecutive ids with equal content are merged
/// into one ranged frame when the batch is flushed.
#[derive(Clone, Debug)]
pub(crate) struct PendingDisposition {
    pub channel: u16,
    /// `true` when we act as receiver (settling the client's transfer).
    pub as_receiver: bool,
    pub delivery_id: u32,
    pub settled: bool,
    pub outcome: Outcome,
}

/// Groups pending dispositions into `(channel, as_receiver, first, last, settled, outcome)`
/// ranges of consecutive ids with equal content. Sorts `pending` in place.
pub(crate) fn coalesce(
    pending: &mut [PendingDisposition],
) -> Vec<(u16, bool, u32, u32, bool, &Outcome)> {
    pending.sort_by_key(|p| (p.channel, p.as_receiver, p.delivery_id));
    let mut out: Vec<(u16, bool, u32, u32, bool, &Outcome)> = Vec::new();
    for p in pending.iter() {
        if let Some(last) = out.last_mut() {
            if last.0 == p.channel
                && last.1 == p.as_receiver
                && last.3.wrapping_add(1) == p.delivery_id
                && last.4 == p.settled
                && *last.5 == p.outcome
            {
                last.3 = p.delivery_id;
                continue;
            }
        }
        out.push((
            p.channel,
            p.as_receiver,
            p.delivery_id,
            p.delivery_id,
            p.settled,
            &p.outcome,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amqp::outcome::ErrorInfo;

    fn pd(id: u32, outcome: Outcome) -> PendingDisposition {
        PendingDisposition {
            channel: 0,
            as_receiver: false,
            delivery_id: id,
            settled: true,
            outcome,
        }
    }

    #[test]
    fn tags_longer_than_32_bytes_are_refused() {
        assert!(DeliveryTag::new(&[0u8; 33]).is_none());
        let tag = DeliveryTag::new(&[7u8; 16]).unwrap();
        assert_eq!(tag.as_bytes(), &[7u8; 16]);
    }

    #[test]
    fn consecutive_equal_dispositions_merge_into_ranges() {
        let rej = Outcome::Rejected(Some(ErrorInfo::new("x", "y")));
        let mut p = vec![
            pd(3, Outcome::Accepted),
            pd(1, Outcome::Accepted),
            pd(2, Outcome::Accepted),
            pd(4, rej.clone()),
            pd(6, Outcome::Accepted),
        ];
        let ranges: Vec<_> = coalesce(&mut p)
            .into_iter()
            .map(|r| (r.2, r.3, r.5.clone()))
            .collect();
        assert_eq!(
            ranges,
            vec![
                (1, 3, Outcome::Accepted),
                (4, 4, rej),
                (6, 6, Outcome::Accepted)
            ]
        );
    }
}
