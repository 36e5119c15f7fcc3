//! Decoding AMQP values the broker wrote, with `serde_amqp`, safely: serde_amqp trusts size
//! and count fields (a `map8` of size 0 makes it subtract with overflow, i.e. panic), so the
//! bytes first pass the embedded broker's structural check,
//! [`berth_emulator::amqp::validate_encoded`], which bounds sizes, counts and nesting.

use serde::de::DeserializeOwned;

/// Decodes `raw` as `T` if it is well-formed AMQP; the error says what is wrong.
pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    berth_emulator::amqp::validate_encoded(raw)?;
    serde_amqp::from_slice(raw).map_err(|e| e.to_string())
}
