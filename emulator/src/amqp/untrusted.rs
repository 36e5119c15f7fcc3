//! Decoding AMQP bytes from a peer with `serde_amqp`, contained: the bytes must pass
//! [`validate_encoded`] first, and a panic inside `serde_amqp` is turned into an error.
//!
//! `serde_amqp` trusts size and count fields and, as the fuzz targets found, still
//! subtracts with overflow on some well-formed inputs (maps read through arrays of compound
//! values, lists read as maps); that is a bug of the dependency, which we cannot fix here,
//! so the panic stays inside this function. (Its message still reaches the panic hook.)

use std::panic::{catch_unwind, AssertUnwindSafe};

use serde::de::DeserializeOwned;

use super::wellformed::validate_encoded;

/// Decodes `bytes` as `T` if they are well-formed AMQP and `serde_amqp` decodes them
/// without panicking; the error says what was wrong.
pub fn decode_untrusted<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    validate_encoded(bytes)?;
    match catch_unwind(AssertUnwindSafe(|| serde_amqp::from_slice::<T>(bytes))) {
        Ok(decoded) => decoded.map_err(|e| e.to_string()),
        Err(_) => Err("the AMQP decoder failed on these bytes".to_owned()),
    }
}
