//! Frame layer: splitting the byte stream into frames and writing frames into the
//! outgoing buffer.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Serialize;

/// Frame type byte of AMQP frames.
pub(crate) const FRAME_TYPE_AMQP: u8 = 0x00;
/// Frame type byte of SASL frames.
pub(crate) const FRAME_TYPE_SASL: u8 = 0x01;
/// Size of the fixed frame header.
pub(crate) const HEADER_LEN: usize = 8;

/// A protocol violation: the connection is closed with this condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProtocolError {
    pub condition: &'static str,
    pub description: String,
}

impl ProtocolError {
    pub(crate) fn framing(description: impl Into<String>) -> Self {
        Self {
            condition: "amqp:connection:framing-error",
            description: description.into(),
        }
    }

    pub(crate) fn decode(description: impl Into<String>) -> Self {
        Self {
            condition: "amqp:decode-error",
            description: description.into(),
        }
    }

    pub(crate) fn not_allowed(description: impl Into<String>) -> Self {
        Self {
            condition: "amqp:not-allowed",
            description: description.into(),
        }
    }
}

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.condition, self.description)
    }
}

/// One frame as read from the wire; `body` excludes the header and extended header.
#[derive(Debug)]
pub(crate) struct RawFrame {
    pub frame_type: u8,
    pub channel: u16,
    pub body: Bytes,
}

/// Takes one complete frame off the front of `buf`, if there is one.
///
/// Rejects frames larger than `max_frame_size`, smaller than the header, or with a data
/// offset outside the frame.
pub(crate) fn parse_frame(
    buf: &mut BytesMut,
    max_frame_size: u32,
) -> Result<Option<RawFrame>, ProtocolError> {
    if buf.len() < HEADER_LEN {
        return Ok(None);
    }
    let size = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    if size < HEADER_LEN as u32 {
        return Err(ProtocolError::framing(format!(
            "frame size {size} is smaller than the 8-byte header"
        )));
    }
    if size > max_frame_size {
        return Err(ProtocolError::framing(format!(
            "frame size {size} exceeds max-frame-size {max_frame_size}"
        )));
    }
    let doff = usize::from(buf[4]) * 4;
    if doff < HEADER_LEN || doff > size as usize {
        return Err(ProtocolError::framing(format!(
            "invalid data offset {} in a frame of {size} bytes",
            buf[4]
        )));
    }
    if buf.len() < size as usize {
        buf.reserve(size as usize - buf.len());
        return Ok(None);
    }
    let frame_type = buf[5];
    let channel = u16::from_be_bytes([buf[6], buf[7]]);
    let mut frame = buf.split_to(size as usize);
    frame.advance(doff);
    Ok(Some(RawFrame {
        frame_type,
        channel,
        body: frame.freeze(),
    }))
}

/// Writes a frame header with a placeholder size; returns the frame's start offset.
fn begin_frame(out: &mut BytesMut, frame_type: u8, channel: u16) -> usize {
    let start = out.len();
    out.put_u32(0);
    out.put_u8(2);
    out.put_u8(frame_type);
    out.put_u16(channel);
    start
}

fn end_frame(out: &mut BytesMut, start: usize) {
    let size = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// Appends one frame carrying `body` (a performative or SASL frame body).
pub(crate) fn write_frame<T: Serialize>(
    out: &mut BytesMut,
    frame_type: u8,
    channel: u16,
    body: &T,
) -> Result<(), serde_amqp::Error> {
    let start = begin_frame(out, frame_type, channel);
    let result = body.serialize(&mut serde_amqp::ser::Serializer::from(out.writer()));
    match result {
        Ok(()) => {
            end_frame(out, start);
            Ok(())
        }
        Err(e) => {
            out.truncate(start);
            Err(e)
        }
    }
}

/// Appends one transfer frame: the encoded performative followed by `payload`.
pub(crate) fn write_transfer_frame(
    out: &mut BytesMut,
    channel: u16,
    performative: &[u8],
    payload: &[u8],
) {
    let start = begin_frame(out, FRAME_TYPE_AMQP, channel);
    out.extend_from_slice(performative);
    out.extend_from_slice(payload);
    end_frame(out, start);
}

/// Appends an empty (heartbeat) frame.
pub(crate) fn write_empty_frame(out: &mut BytesMut) {
    let start = begin_frame(out, FRAME_TYPE_AMQP, 0);
    end_frame(out, start);
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp_types::performatives::End;

    #[test]
    fn written_frames_parse_back() {
        let mut out = BytesMut::new();
        write_frame(&mut out, FRAME_TYPE_AMQP, 7, &End { error: None }).unwrap();
        write_empty_frame(&mut out);
        let f = parse_frame(&mut out, 512).unwrap().unwrap();
        assert_eq!((f.frame_type, f.channel), (FRAME_TYPE_AMQP, 7));
        assert!(!f.body.is_empty());
        let e = parse_frame(&mut out, 512).unwrap().unwrap();
        assert!(e.body.is_empty());
        assert!(out.is_empty());
    }

    #[test]
    fn partial_frames_wait_for_more_bytes() {
        let mut out = BytesMut::new();
        write_frame(&mut out, FRAME_TYPE_AMQP, 0, &End { error: None }).unwrap();
        let full = out.clone();
        for cut in 0..full.len() {
            let mut part = BytesMut::from(&full[..cut]);
            assert!(
                parse_frame(&mut part, 512).unwrap().is_none(),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn oversized_undersized_and_bad_offset_frames_are_framing_errors() {
        let mut big = BytesMut::from(&[0, 0, 0x10, 0, 2, 0, 0, 0][..]);
        assert_eq!(
            parse_frame(&mut big, 1024).unwrap_err().condition,
            "amqp:connection:framing-error"
        );
        let mut small = BytesMut::from(&[0, 0, 0, 4, 2, 0, 0, 0][..]);
        assert!(parse_frame(&mut small, 1024).is_err());
        let mut doff = BytesMut::from(&[0, 0, 0, 8, 1, 0, 0, 0][..]);
        assert!(parse_frame(&mut doff, 1024).is_err());
        let mut doff_past_end = BytesMut::from(&[0, 0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 0][..]);
        assert!(parse_frame(&mut doff_past_end, 1024).is_err());
    }
}
