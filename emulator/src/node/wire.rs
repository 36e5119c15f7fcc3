//! Just enough of the AMQP 1.0 type system (spec part 1) to walk encoded messages without
//! decoding them: find value boundaries, read the few scalar fields Service Bus cares about,
//! and write the handful of values the broker adds. Bodies are never decoded or copied twice.

use std::fmt;

use crate::amqp::fixed_width;

/// An encoded message or value could not be walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// The bytes end inside a value that starts at this offset.
    Truncated {
        /// Byte offset of the value's constructor.
        at: usize,
    },
    /// An unknown constructor byte.
    BadConstructor {
        /// The constructor byte.
        code: u8,
        /// Its offset.
        at: usize,
    },
    /// The bytes are valid AMQP but not the shape a message needs.
    Shape(&'static str),
    /// Sizes, counts or nesting somewhere in the bytes are inconsistent (what
    /// [`crate::amqp::validate_encoded`] found).
    Malformed(String),
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { at } => {
                write!(f, "the encoded message is truncated (value at byte {at})")
            }
            Self::BadConstructor { code, at } => {
                write!(f, "invalid AMQP constructor 0x{code:02x} at byte {at}")
            }
            Self::Shape(what) => write!(f, "malformed AMQP message: {what}"),
            Self::Malformed(what) => write!(f, "malformed AMQP message: {what}"),
        }
    }
}

impl std::error::Error for CodecError {}

/// A cursor over encoded AMQP values.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn take(&mut self, n: usize, at: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|end| *end <= self.buf.len());
        let end = end.ok_or(CodecError::Truncated { at })?;
        let bytes = &self.buf[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn size(&mut self, width: usize, at: usize) -> Result<usize, CodecError> {
        let bytes = self.take(width, at)?;
        Ok(bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b)))
    }

    /// Skips one complete value (described values included) and returns its bytes. Lists
    /// and maps are skipped by their size, and described values are walked in a loop, so
    /// hostile nesting cannot exhaust the stack.
    pub fn value(&mut self) -> Result<&'a [u8], CodecError> {
        let start = self.pos;
        for _ in 0..MAX_DESCRIBED_DEPTH {
            let at = self.pos;
            let code = self.take(1, at)?[0];
            let skip = match code {
                0x00 => {
                    // The descriptor is a ulong or a symbol, never itself described.
                    if self.buf.get(self.pos) == Some(&0x00) {
                        return Err(CodecError::Shape("a descriptor cannot be described"));
                    }
                    self.value()?;
                    continue;
                }
                0xa0 | 0xa1 | 0xa3 | 0xc0 | 0xc1 | 0xe0 => self.size(1, at)?,
                0xb0 | 0xb1 | 0xb3 | 0xd0 | 0xd1 | 0xf0 => self.size(4, at)?,
                _ => fixed_width(code).ok_or(CodecError::BadConstructor { code, at })?,
            };
            self.take(skip, at)?;
            return Ok(&self.buf[start..self.pos]);
        }
        Err(CodecError::Shape("described values nested too deeply"))
    }
}

/// How many described wrappers one value may have.
const MAX_DESCRIBED_DEPTH: usize = 16;

/// The items of an encoded list (`list0`, `list8`, `list32`), each as its raw bytes.
pub fn list_items(list: &[u8]) -> Result<Items<'_>, CodecError> {
    compound_items(list, [0xc0, 0xd0], 0x45, "expected a list")
}

/// The keys and values of an encoded map, alternating, each as its raw bytes.
pub fn map_items(map: &[u8]) -> Result<Items<'_>, CodecError> {
    compound_items(map, [0xc1, 0xd1], 0x40, "expected a map")
}

fn compound_items<'a>(
    raw: &'a [u8],
    codes: [u8; 2],
    empty: u8,
    what: &'static str,
) -> Result<Items<'a>, CodecError> {
    let (count, body) = match raw.first() {
        Some(&c) if c == empty => (0, &raw[raw.len()..]),
        Some(&c) if c == codes[0] && raw.len() >= 3 => (usize::from(raw[2]), &raw[3..]),
        Some(&c) if c == codes[1] && raw.len() >= 9 => {
            let count = u32::from_be_bytes([raw[5], raw[6], raw[7], raw[8]]);
            (count as usize, &raw[9..])
        }
        _ => return Err(CodecError::Shape(what)),
    };
    Ok(Items {
        reader: Reader::new(body),
        remaining: count,
    })
}

/// Iterator over the raw items of a list or map.
#[derive(Debug, Clone)]
pub struct Items<'a> {
    reader: Reader<'a>,
    remaining: usize,
}

impl<'a> Iterator for Items<'a> {
    type Item = Result<&'a [u8], CodecError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let item = self.reader.value();
        if item.is_err() {
            self.remaining = 0;
        }
        Some(item)
    }
}

/// The text of a string or symbol value.
pub fn as_str(raw: &[u8]) -> Option<&str> {
    let bytes = match raw.first()? {
        0xa1 | 0xa3 => raw.get(2..)?,
        0xb1 | 0xb3 => raw.get(5..)?,
        _ => return None,
    };
    std::str::from_utf8(bytes).ok()
}

/// The value of any unsigned or non-negative signed integer encoding.
pub fn as_u64(raw: &[u8]) -> Option<u64> {
    let be = |bytes: &[u8]| bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    match *raw.first()? {
        0x43 | 0x44 => Some(0),
        0x50 | 0x52 | 0x53 => raw.get(1).map(|b| u64::from(*b)),
        0x60 => raw.get(1..3).map(be),
        0x70 | 0x80 => raw
            .get(1..)
            .filter(|b| b.len() == 4 || b.len() == 8)
            .map(be),
        0x51 | 0x54 | 0x55 => raw.get(1).and_then(|b| u64::try_from(*b as i8).ok()),
        0x61 => raw
            .get(1..3)
            .and_then(|b| u64::try_from(i16::from_be_bytes([b[0], b[1]])).ok()),
        0x71 => raw
            .get(1..5)
            .and_then(|b| u64::try_from(be(b) as u32 as i32).ok()),
        0x81 => raw.get(1..9).and_then(|b| u64::try_from(be(b) as i64).ok()),
        _ => None,
    }
}

/// The milliseconds of a timestamp value.
pub fn as_timestamp(raw: &[u8]) -> Option<i64> {
    match raw {
        [0x83, rest @ ..] => rest.try_into().ok().map(i64::from_be_bytes),
        _ => None,
    }
}

/// Whether the value is `null`.
pub fn is_null(raw: &[u8]) -> bool {
    raw == [0x40]
}

/// The descriptor code of a described value (`0x00 0x53 code` or `0x00 0x80 <u64>`), with the
/// described value's bytes.
pub fn described(raw: &[u8]) -> Option<(u64, &[u8])> {
    let mut reader = Reader::new(raw.strip_prefix(&[0x00])?);
    let descriptor = reader.value().ok()?;
    let code = as_u64(descriptor).or_else(|| symbolic_code(as_str(descriptor)?))?;
    Some((code, reader.value().ok()?))
}

fn symbolic_code(name: &str) -> Option<u64> {
    const NAMES: [&str; 9] = [
        "amqp:header:list",
        "amqp:delivery-annotations:map",
        "amqp:message-annotations:map",
        "amqp:properties:list",
        "amqp:application-properties:map",
        "amqp:data:binary",
        "amqp:amqp-sequence:list",
        "amqp:amqp-value:*",
        "amqp:footer:map",
    ];
    NAMES
        .iter()
        .position(|n| *n == name)
        .map(|i| 0x70 + i as u64)
}

/// Writing the values the broker adds.
pub mod write {
    /// `0x00 0x53 code`: the descriptor of a message section.
    pub fn descriptor(out: &mut Vec<u8>, code: u8) {
        out.extend_from_slice(&[0x00, 0x53, code]);
    }

    /// A symbol.
    pub fn symbol(out: &mut Vec<u8>, text: &str) {
        sized(out, 0xa3, 0xb3, text.as_bytes());
    }

    /// A string.
    pub fn string(out: &mut Vec<u8>, text: &str) {
        sized(out, 0xa1, 0xb1, text.as_bytes());
    }

    /// A binary.
    pub fn binary(out: &mut Vec<u8>, bytes: &[u8]) {
        sized(out, 0xa0, 0xb0, bytes);
    }

    fn sized(out: &mut Vec<u8>, short: u8, long: u8, bytes: &[u8]) {
        match u8::try_from(bytes.len()) {
            Ok(len) => out.extend_from_slice(&[short, len]),
            Err(_) => {
                out.push(long);
                out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
            }
        }
        out.extend_from_slice(bytes);
    }

    /// A uuid (RFC 4122 byte order).
    pub fn uuid(out: &mut Vec<u8>, bytes: &[u8; 16]) {
        out.push(0x98);
        out.extend_from_slice(bytes);
    }

    /// A long (always the 8-byte form, as .NET and Python read either).
    pub fn long(out: &mut Vec<u8>, value: i64) {
        out.push(0x81);
        out.extend_from_slice(&value.to_be_bytes());
    }

    /// A timestamp in milliseconds since the Unix epoch.
    pub fn timestamp(out: &mut Vec<u8>, millis: i64) {
        out.push(0x83);
        out.extend_from_slice(&millis.to_be_bytes());
    }

    /// An int.
    pub fn int(out: &mut Vec<u8>, value: i32) {
        out.push(0x71);
        out.extend_from_slice(&value.to_be_bytes());
    }

    /// A uint.
    pub fn uint(out: &mut Vec<u8>, value: u32) {
        out.push(0x70);
        out.extend_from_slice(&value.to_be_bytes());
    }

    /// Starts a `list32` (`map = false`) or `map32`; returns the mark for [`end_compound`].
    pub fn begin_compound(out: &mut Vec<u8>, map: bool) -> usize {
        out.push(if map { 0xd1 } else { 0xd0 });
        let mark = out.len();
        out.extend_from_slice(&[0; 8]);
        mark
    }

    /// Fills in the size and the number of items (count maps as keys + values).
    pub fn end_compound(out: &mut [u8], mark: usize, items: u32) {
        let size = (out.len() - mark - 4) as u32;
        out[mark..mark + 4].copy_from_slice(&size.to_be_bytes());
        out[mark + 4..mark + 8].copy_from_slice(&items.to_be_bytes());
    }
}
