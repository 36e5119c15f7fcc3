//! Entry points into the engine's private frame and performative parsers for the fuzz
//! targets in `fuzz/` (see FUZZING.md). Not an API: hidden from the docs, may change at any
//! time. Everything else the targets drive is public already.

use bytes::{Bytes, BytesMut};

use super::{decode::decode_performative, frame::parse_frame};

/// Splits `bytes` into frames as the connection loop does (frames up to `max_frame_size`)
/// and decodes the performative of every non-empty AMQP frame body. Returns how many
/// performatives decoded, or the first error's text.
pub fn decode_frames(bytes: &[u8], max_frame_size: u32) -> Result<usize, String> {
    let mut buf = BytesMut::from(bytes);
    let mut decoded = 0;
    while let Some(frame) = parse_frame(&mut buf, max_frame_size).map_err(|e| e.to_string())? {
        if !frame.body.is_empty() {
            decode_performative(frame.body).map_err(|e| e.to_string())?;
            decoded += 1;
        }
    }
    Ok(decoded)
}

/// Decodes one frame body as a performative (a transfer's payload may follow it).
pub fn decode_performative_body(body: &[u8]) -> Result<(), String> {
    if body.is_empty() {
        return Ok(());
    }
    decode_performative(Bytes::copy_from_slice(body))
        .map(drop)
        .map_err(|e| e.to_string())
}
