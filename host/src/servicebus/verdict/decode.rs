//! Just enough of the AMQP 1.0 type system (part 1) to read a performative's fields without
//! decoding them into owned values: walk a described list, skip any value, read a `uint`, a
//! `boolean` or a `string`/`symbol` in place. Nothing here allocates.

use std::fmt;

/// Why bytes could not be read as AMQP values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub &'static str);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

const TRUNCATED: DecodeError = DecodeError("a value runs past the end of its performative");
/// How deeply described and compound values may nest before the input is refused.
const MAX_DEPTH: u8 = 32;

/// The length of the encoded value at the start of `bytes` (constructor included).
pub(crate) fn value_len(bytes: &[u8]) -> Result<usize, DecodeError> {
    value_len_at(bytes, 0)
}

fn value_len_at(bytes: &[u8], depth: u8) -> Result<usize, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError("values nest too deeply"));
    }
    let constructor = *bytes.first().ok_or(TRUNCATED)?;
    let len = match constructor {
        0x00 => {
            let descriptor = value_len_at(&bytes[1..], depth + 1)?;
            let value = value_len_at(bytes.get(1 + descriptor..).ok_or(TRUNCATED)?, depth + 1)?;
            1 + descriptor + value
        }
        0x40..=0x45 => 1,
        0x50..=0x56 => 2,
        0x60 | 0x61 => 3,
        0x70..=0x74 => 5,
        0x80..=0x84 => 9,
        0x94 | 0x98 => 17,
        0xa0 | 0xa1 | 0xa3 | 0xc0 | 0xc1 | 0xe0 => 2 + usize::from(*bytes.get(1).ok_or(TRUNCATED)?),
        0xb0 | 0xb1 | 0xb3 | 0xd0 | 0xd1 | 0xf0 => 5 + be_u32(bytes, 1)? as usize,
        _ => return Err(DecodeError("unknown AMQP type constructor")),
    };
    if len > bytes.len() {
        return Err(TRUNCATED);
    }
    Ok(len)
}

fn be_u32(bytes: &[u8], at: usize) -> Result<u32, DecodeError> {
    let raw: [u8; 4] = bytes
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .ok_or(TRUNCATED)?;
    Ok(u32::from_be_bytes(raw))
}

/// The numeric code of a descriptor (`ulong`, or one of the performative symbols).
pub(crate) fn descriptor_code(descriptor: &[u8]) -> Result<u64, DecodeError> {
    match descriptor.first() {
        Some(0x44) => Ok(0),
        Some(0x53) => descriptor.get(1).map(|b| u64::from(*b)).ok_or(TRUNCATED),
        Some(0x80) => descriptor
            .get(1..9)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_be_bytes)
            .ok_or(TRUNCATED),
        Some(0xa3 | 0xb3) => {
            let len = value_len(descriptor)?;
            let header = if descriptor[0] == 0xa3 { 2 } else { 5 };
            Ok(symbolic_code(&descriptor[header..len]))
        }
        _ => Err(DecodeError("a descriptor is neither a ulong nor a symbol")),
    }
}

/// The code of a performative named by symbol; 0 (no performative) for any other name.
fn symbolic_code(name: &[u8]) -> u64 {
    match name {
        b"amqp:open:list" => 0x10,
        b"amqp:begin:list" => 0x11,
        b"amqp:attach:list" => 0x12,
        b"amqp:flow:list" => 0x13,
        b"amqp:transfer:list" => 0x14,
        b"amqp:disposition:list" => 0x15,
        b"amqp:detach:list" => 0x16,
        b"amqp:end:list" => 0x17,
        b"amqp:close:list" => 0x18,
        _ => 0,
    }
}

/// The fields of an encoded list, each as its raw encoding (a missing trailing field reads
/// as absent, as the spec says).
pub(crate) struct Fields<'a> {
    rest: &'a [u8],
    left: u32,
}

impl<'a> Fields<'a> {
    /// The fields of the list encoded at the start of `bytes`.
    pub fn of_list(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let (count, rest) = match bytes.first() {
            Some(0x45) => (0, &bytes[1..1]),
            Some(0xc0) => {
                let len = value_len(bytes)?;
                let count = u32::from(*bytes.get(2).ok_or(TRUNCATED)?);
                (count, &bytes[3..len])
            }
            Some(0xd0) => {
                let len = value_len(bytes)?;
                let count = be_u32(bytes, 5)?;
                (count, bytes.get(9..len).ok_or(TRUNCATED)?)
            }
            _ => return Err(DecodeError("a performative's body is not a list")),
        };
        Ok(Fields { rest, left: count })
    }

    /// The next field's encoding; `None` when absent (past the list's end, or null).
    pub fn next_raw(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let len = value_len(self.rest)?;
        let (raw, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok((raw != [0x40]).then_some(raw))
    }

    /// The next field as a `uint` (absent: `None`).
    pub fn uint(&mut self) -> Result<Option<u32>, DecodeError> {
        let Some(raw) = self.next_raw()? else {
            return Ok(None);
        };
        match raw {
            [0x43] => Ok(Some(0)),
            [0x52, v] => Ok(Some(u32::from(*v))),
            [0x70, ..] => be_u32(raw, 1).map(Some),
            _ => Err(DecodeError("a field that should be a uint is not")),
        }
    }

    /// The next field as a `boolean` (absent: `None`).
    pub fn boolean(&mut self) -> Result<Option<bool>, DecodeError> {
        match self.next_raw()? {
            None => Ok(None),
            Some([0x41]) | Some([0x56, 0x01]) => Ok(Some(true)),
            Some([0x42]) | Some([0x56, 0x00]) => Ok(Some(false)),
            Some(_) => Err(DecodeError("a field that should be a boolean is not")),
        }
    }

    /// The next field as a `string` (absent or not valid UTF-8: `None`).
    pub fn string(&mut self) -> Result<Option<&'a str>, DecodeError> {
        let Some(raw) = self.next_raw()? else {
            return Ok(None);
        };
        let text = match raw[0] {
            0xa1 | 0xa3 => &raw[2..],
            0xb1 | 0xb3 => &raw[5..],
            _ => return Err(DecodeError("a field that should be a string is not")),
        };
        Ok(std::str::from_utf8(text).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_in_place() {
        // list8 [str8 "ab", uint 7 (smalluint), true, null, uint 0x01020304]
        let list = [
            0xc0, 14, 5, 0xa1, 2, b'a', b'b', 0x52, 7, 0x41, 0x40, 0x70, 1, 2, 3, 4,
        ];
        let mut fields = Fields::of_list(&list).unwrap();
        assert_eq!(fields.string().unwrap(), Some("ab"));
        assert_eq!(fields.uint().unwrap(), Some(7));
        assert_eq!(fields.boolean().unwrap(), Some(true));
        assert_eq!(fields.boolean().unwrap(), None);
        assert_eq!(fields.uint().unwrap(), Some(0x0102_0304));
        assert_eq!(fields.uint().unwrap(), None, "past the end: absent");
    }

    #[test]
    fn skips_described_and_compound_values() {
        // described(smallulong 0x24, list0) then map8 {sym "k": ulong 1}
        let bytes = [0x00, 0x53, 0x24, 0x45];
        assert_eq!(value_len(&bytes).unwrap(), 4);
        let map = [0xc1, 13, 2, 0xa3, 1, b'k', 0x80, 0, 0, 0, 0, 0, 0, 0, 1];
        assert_eq!(value_len(&map).unwrap(), 15);
        assert_eq!(descriptor_code(&[0x53, 0x15]).unwrap(), 0x15);
        let named = [&[0xa3, 16][..], b"amqp:detach:list"].concat();
        assert_eq!(descriptor_code(&named).unwrap(), 0x16);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(value_len(&[]).is_err());
        assert!(value_len(&[0xa1, 5, b'a']).is_err(), "string past the end");
        assert!(value_len(&[0x30]).is_err(), "unknown constructor");
        assert!(value_len(&[0xb0, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(Fields::of_list(&[0x70, 0, 0, 0, 1]).is_err(), "not a list");
        let nested: Vec<u8> = std::iter::repeat_n(0x00, 100).collect();
        assert!(value_len(&nested).is_err(), "deep nesting refused");
        let mut fields = Fields::of_list(&[0xc0, 2, 1, 0x41]).unwrap();
        assert!(fields.uint().is_err(), "a boolean is not a uint");
    }
}
