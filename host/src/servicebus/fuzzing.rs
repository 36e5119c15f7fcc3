//! Entry points into the client's private decoders of broker bytes, for the fuzz targets in
//! `fuzz/` (see FUZZING.md). Not an API: hidden from the docs, may change at any time.

pub use super::verdict::fuzzing::{follow_broker_stream, WATCHED_LINKS};

/// Decodes one encoded message of a `$management` peek reply as `host peek` does; whether
/// it decoded.
pub fn decode_peeked(encoded: &[u8]) -> bool {
    super::peek::decode(encoded).is_ok()
}
