//! Decoding frame bodies into performatives, leniently where real clients deviate from
//! the spec (string keys where symbols are required, e.g. rhea's `error.info`).

use bytes::Bytes;
use fe2o3_amqp_types::performatives::{
    Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Transfer,
};
use serde::de::DeserializeOwned;
use serde_amqp::{primitives::OrderedMap, Value};

use super::{frame::ProtocolError, untrusted::decode_untrusted, wellformed::validate_encoded};

/// A decoded AMQP frame body.
#[derive(Debug)]
pub(crate) enum Performative {
    Open(Box<Open>),
    Begin(Begin),
    Attach(Box<Attach>),
    Flow(Flow),
    /// The transfer and its payload bytes (the rest of the frame).
    Transfer(Transfer, Bytes),
    Disposition(Disposition),
    Detach(Detach),
    End(End),
    Close(Close),
}

/// Descriptor code and encoded length of the described list at the start of `body`.
pub(crate) fn described_list_span(body: &[u8]) -> Result<(u64, usize), ProtocolError> {
    let truncated = || ProtocolError::framing("truncated performative");
    let byte = |i: usize| body.get(i).copied().ok_or_else(truncated);
    let be32 = |i: usize| -> Result<usize, ProtocolError> {
        let b = body.get(i..i + 4).ok_or_else(truncated)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    if byte(0)? != 0x00 {
        return Err(ProtocolError::decode(format!(
            "frame body starts with 0x{:02x}, not a described type",
            body[0]
        )));
    }
    let (code, mut pos) = match byte(1)? {
        0x53 => (u64::from(byte(2)?), 3),
        0x44 => (0, 2),
        0x80 => {
            let b = body.get(2..10).ok_or_else(truncated)?;
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (u64::from_be_bytes(a), 10)
        }
        sym @ (0xa3 | 0xb3) => {
            let (len, start) = if sym == 0xa3 {
                (usize::from(byte(2)?), 3)
            } else {
                (be32(2)?, 6)
            };
            let name = body.get(start..start + len).ok_or_else(truncated)?;
            (symbolic_code(name)?, start + len)
        }
        other => {
            return Err(ProtocolError::decode(format!(
                "unsupported descriptor encoding 0x{other:02x}"
            )))
        }
    };
    pos += match byte(pos)? {
        0x45 => 1,
        0xc0 => 2 + usize::from(byte(pos + 1)?),
        0xd0 => 5 + be32(pos + 1)?,
        other => {
            return Err(ProtocolError::decode(format!(
                "performative is not a list (format code 0x{other:02x})"
            )))
        }
    };
    if pos > body.len() {
        return Err(truncated());
    }
    Ok((code, pos))
}

fn symbolic_code(name: &[u8]) -> Result<u64, ProtocolError> {
    const NAMES: [&[u8]; 14] = [
        b"amqp:open:list",
        b"amqp:begin:list",
        b"amqp:attach:list",
        b"amqp:flow:list",
        b"amqp:transfer:list",
        b"amqp:disposition:list",
        b"amqp:detach:list",
        b"amqp:end:list",
        b"amqp:close:list",
        b"amqp:sasl-mechanisms:list",
        b"amqp:sasl-init:list",
        b"amqp:sasl-challenge:list",
        b"amqp:sasl-response:list",
        b"amqp:sasl-outcome:list",
    ];
    const CODES: [u64; 14] = [
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x40, 0x41, 0x42, 0x43, 0x44,
    ];
    NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| CODES[i])
        .ok_or_else(|| {
            ProtocolError::decode(format!(
                "unknown descriptor {:?}",
                String::from_utf8_lossy(name)
            ))
        })
}

/// Decodes an AMQP frame body (non-empty).
pub(crate) fn decode_performative(body: Bytes) -> Result<Performative, ProtocolError> {
    let (code, len) = described_list_span(&body)?;
    let bytes = &body[..len];
    validate_encoded(bytes)
        .map_err(|e| ProtocolError::decode(format!("malformed performative: {e}")))?;
    Ok(match code {
        0x10 => Performative::Open(Box::new(decode_lenient(bytes, "open")?)),
        0x11 => Performative::Begin(decode_lenient(bytes, "begin")?),
        0x12 => Performative::Attach(Box::new(decode_lenient(bytes, "attach")?)),
        0x13 => Performative::Flow(decode_lenient(bytes, "flow")?),
        0x14 => Performative::Transfer(decode_lenient(bytes, "transfer")?, body.slice(len..)),
        0x15 => Performative::Disposition(decode_lenient(bytes, "disposition")?),
        0x16 => Performative::Detach(decode_lenient(bytes, "detach")?),
        0x17 => Performative::End(decode_lenient(bytes, "end")?),
        0x18 => Performative::Close(decode_lenient(bytes, "close")?),
        other => {
            return Err(ProtocolError::decode(format!(
                "unknown performative code 0x{other:x}"
            )))
        }
    })
}

/// Decodes `T`; if that fails, decodes a generic value, turns string map keys into
/// symbols (what rhea gets wrong) and tries once more.
pub(crate) fn decode_lenient<T: DeserializeOwned>(
    bytes: &[u8],
    what: &str,
) -> Result<T, ProtocolError> {
    let first = match decode_untrusted::<T>(bytes) {
        Ok(v) => return Ok(v),
        Err(e) => e,
    };
    let fail = || ProtocolError::decode(format!("malformed {what}: {first}"));
    let mut value: Value = decode_untrusted(bytes).map_err(|_| fail())?;
    if !symbolize_keys(&mut value) {
        return Err(fail());
    }
    let reencoded = serde_amqp::to_vec(&value).map_err(|_| fail())?;
    decode_untrusted::<T>(&reencoded).map_err(|_| fail())
}

/// Rewrites string map keys to symbols everywhere in `value`; returns whether anything
/// changed.
fn symbolize_keys(value: &mut Value) -> bool {
    match value {
        Value::Described(d) => symbolize_keys(&mut d.value),
        Value::List(items) => items
            .iter_mut()
            .fold(false, |acc, v| symbolize_keys(v) | acc),
        Value::Map(map) => {
            let mut changed = false;
            let old = std::mem::take(map);
            let mut new = OrderedMap::new();
            for (mut k, mut v) in old.into_inner() {
                changed |= symbolize_keys(&mut v);
                if let Value::String(s) = k {
                    k = Value::Symbol(s.into());
                    changed = true;
                }
                new.insert(k, v);
            }
            *map = new;
            changed
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
