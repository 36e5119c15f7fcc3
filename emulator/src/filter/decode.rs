//! Reading a [`MessageView`] out of an encoded AMQP message, without touching its body: the
//! properties section's ids and addresses, the header's time to live, the scheduled enqueue
//! time annotation and the application properties, each value typed as a filter compares it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::node::wire::{self, CodecError, Reader};

use super::{MessageView, Value};

pub(super) const HEADER: u64 = 0x70;
pub(super) const MESSAGE_ANNOTATIONS: u64 = 0x72;
pub(super) const PROPERTIES: u64 = 0x73;
pub(super) const APPLICATION_PROPERTIES: u64 = 0x74;

/// The descriptor .NET gives a `TimeSpan` application property (a long of 100 ns ticks).
pub(super) const TIMESPAN_DESCRIPTOR: &str = "com.microsoft:timespan";

/// One section: its descriptor code, whole bytes and value bytes.
pub(super) struct Section<'a> {
    pub code: u64,
    pub whole: &'a [u8],
    pub value: &'a [u8],
}

/// The sections of an encoded message, in order.
pub(super) fn sections(raw: &[u8]) -> Result<Vec<Section<'_>>, CodecError> {
    let mut reader = Reader::new(raw);
    let mut out = Vec::with_capacity(6);
    while !reader.is_empty() {
        let whole = reader.value()?;
        let (code, value) =
            wire::described(whole).ok_or(CodecError::Shape("expected a message section"))?;
        out.push(Section { code, whole, value });
    }
    Ok(out)
}

/// The view of the encoded message `raw` (checked by the node layer when it was sent).
/// `sys.SequenceNumber` and `sys.EnqueuedTimeUtc` are the broker's: the caller sets them.
pub fn decode_view(raw: &[u8]) -> Result<MessageView, CodecError> {
    let mut view = MessageView {
        size: i64::try_from(raw.len()).unwrap_or(i64::MAX),
        ..MessageView::default()
    };
    for section in sections(raw)? {
        match section.code {
            HEADER => {
                let ttl = wire::list_items(section.value)?.nth(2).transpose()?;
                view.time_to_live = ttl.and_then(wire::as_u64).map(Duration::from_millis);
            }
            MESSAGE_ANNOTATIONS => {
                for (key, value) in pairs(section.value)? {
                    if wire::as_str(key) == Some("x-opt-scheduled-enqueue-time") {
                        view.scheduled_enqueue_time_utc =
                            wire::as_timestamp(value).map(from_unix_ms);
                    }
                }
            }
            PROPERTIES => read_properties(section.value, &mut view)?,
            APPLICATION_PROPERTIES => view.user = user_properties(section.value)?,
            _ => {}
        }
    }
    Ok(view)
}

fn read_properties(list: &[u8], view: &mut MessageView) -> Result<(), CodecError> {
    for (index, item) in wire::list_items(list)?.enumerate() {
        let item = item?;
        if wire::is_null(item) {
            continue;
        }
        let slot = match index {
            0 => &mut view.message_id,
            2 => &mut view.to,
            3 => &mut view.label,
            4 => &mut view.reply_to,
            5 => &mut view.correlation_id,
            6 => &mut view.content_type,
            10 => &mut view.session_id,
            12 => &mut view.reply_to_session_id,
            _ => continue,
        };
        *slot = id_text(item);
    }
    Ok(())
}

/// A message id or address as text: strings as they are, ulongs in decimal, uuids
/// hyphenated, binaries in hex (how the SDKs show them).
pub(super) fn id_text(raw: &[u8]) -> Option<String> {
    if let Some(text) = wire::as_str(raw) {
        return Some(text.to_owned());
    }
    match raw {
        [0x98, rest @ ..] if rest.len() == 16 => Some(uuid_text(rest)),
        [0xa0, _, rest @ ..] | [0xb0, _, _, _, _, rest @ ..] => {
            Some(rest.iter().map(|b| format!("{b:02x}")).collect())
        }
        _ => wire::as_u64(raw).map(|v| v.to_string()),
    }
}

fn uuid_text(b: &[u8]) -> String {
    let hex = |r: std::ops::Range<usize>| b[r].iter().map(|x| format!("{x:02x}")).collect::<String>();
    format!(
        "{}-{}-{}-{}-{}",
        hex(0..4),
        hex(4..6),
        hex(6..8),
        hex(8..10),
        hex(10..16)
    )
}

/// A raw key and its raw value.
pub(super) type Pair<'a> = (&'a [u8], &'a [u8]);

/// The key/value pairs of an encoded map.
pub(super) fn pairs(map: &[u8]) -> Result<Vec<Pair<'_>>, CodecError> {
    let mut items = wire::map_items(map)?;
    let mut out = Vec::new();
    while let Some(key) = items.next() {
        let value = items
            .next()
            .unwrap_or(Err(CodecError::Shape("a map has an odd number of items")))?;
        out.push((key?, value));
    }
    Ok(out)
}

fn user_properties(map: &[u8]) -> Result<BTreeMap<String, Value>, CodecError> {
    let mut out = BTreeMap::new();
    for (key, value) in pairs(map)? {
        if let Some(name) = wire::as_str(key) {
            out.insert(name.to_owned(), value_of(value));
        }
    }
    Ok(out)
}

/// A property value as filters see it.
pub fn value_of(raw: &[u8]) -> Value {
    let Some((&code, rest)) = raw.split_first() else {
        return Value::Other;
    };
    let be = |n: usize| -> Option<[u8; 8]> {
        let bytes = rest.get(..n)?;
        let mut out = [0u8; 8];
        out[8 - n..].copy_from_slice(bytes);
        Some(out)
    };
    let signed = |n: usize| -> Option<i64> {
        let bits = u64::from_be_bytes(be(n)?);
        let shift = 64 - 8 * n as u32;
        Some(((bits << shift) as i64) >> shift)
    };
    let value = match code {
        0x40 => Some(Value::Null),
        0x41 => Some(Value::Bool(true)),
        0x42 => Some(Value::Bool(false)),
        0x56 => rest.first().map(|b| Value::Bool(*b != 0)),
        0x51 | 0x54 | 0x55 => signed(1).map(Value::Long),
        0x61 => signed(2).map(Value::Long),
        0x71 => signed(4).map(Value::Long),
        0x81 => signed(8).map(Value::Long),
        0x43 | 0x44 | 0x50 | 0x52 | 0x53 | 0x60 | 0x70 | 0x80 => wire::as_u64(raw)
            .and_then(|v| i64::try_from(v).ok())
            .map(Value::Long),
        0x72 => be(4).map(|b| {
            Value::Double(f64::from(f32::from_be_bytes([b[4], b[5], b[6], b[7]])))
        }),
        0x82 => be(8).map(|b| Value::Double(f64::from_be_bytes(b))),
        0x83 => wire::as_timestamp(raw).map(|ms| Value::DateTime(from_unix_ms(ms))),
        0x98 => rest
            .get(..16)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(Value::Uuid),
        0xa1 | 0xa3 | 0xb1 | 0xb3 => wire::as_str(raw).map(|s| Value::String(s.to_owned())),
        0x00 => timespan(raw),
        _ => None,
    };
    value.unwrap_or(Value::Other)
}

/// A `com.microsoft:timespan` described long (ticks of 100 ns) as a duration.
fn timespan(raw: &[u8]) -> Option<Value> {
    let mut reader = Reader::new(raw.get(1..)?);
    let descriptor = reader.value().ok()?;
    if wire::as_str(descriptor) != Some(TIMESPAN_DESCRIPTOR) {
        return None;
    }
    match value_of(reader.value().ok()?) {
        Value::Long(ticks) if ticks >= 0 => {
            let ticks = ticks.unsigned_abs();
            Some(Value::Duration(Duration::new(
                ticks / 10_000_000,
                (ticks % 10_000_000) as u32 * 100,
            )))
        }
        _ => None,
    }
}

/// A time from milliseconds since the Unix epoch (before it too).
pub(crate) fn from_unix_ms(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// Milliseconds since the Unix epoch (negative before it).
pub(crate) fn unix_ms(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}
