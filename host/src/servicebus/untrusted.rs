//! Decoding AMQP values the broker wrote with `serde_amqp`, contained: serde_amqp trusts size
//! and count fields (a `map8` of size 0 makes it subtract with overflow, i.e. panic), so this
//! goes through the embedded broker's guarded decoder,
//! [`berth_emulator::amqp::decode_untrusted`] (structural check first, panics caught).

use serde::de::DeserializeOwned;

/// Decodes `raw` as `T` if it is well-formed AMQP; the error says what is wrong.
pub(crate) fn decode<T: DeserializeOwned>(raw: &[u8]) -> Result<T, String> {
    berth_emulator::amqp::decode_untrusted(raw)
}
