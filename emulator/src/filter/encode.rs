//! Writing the copy of a message a rule action changed: the original bytes with the changed
//! properties re-encoded and everything else (body included) copied as it was.
//!
//! Written back: the application properties (set, changed, removed), the properties
//! section's ids and addresses (`sys.MessageId`, `sys.CorrelationId`, `sys.To`,
//! `sys.ReplyTo`, `sys.Label`, `sys.SessionId`, `sys.ReplyToSessionId`, `sys.ContentType`)
//! as strings, and `sys.TimeToLive` in the header. Other system properties are the broker's
//! (sequence number, enqueued time, size, delivery count) and are not written.

use std::time::Duration;

use crate::node::wire::{self, write, CodecError};

use super::decode::{
    id_text, pairs, sections, unix_ms, APPLICATION_PROPERTIES, HEADER, PROPERTIES,
    TIMESPAN_DESCRIPTOR,
};
use super::{MessageView, Value};

/// `raw` (whose view is `before`) re-encoded so that its view is `after`.
pub fn encode_changes(
    raw: &[u8],
    before: &MessageView,
    after: &MessageView,
) -> Result<Vec<u8>, CodecError> {
    let header = before.time_to_live != after.time_to_live;
    let properties = property_slots(before)
        .iter()
        .zip(property_slots(after).iter())
        .any(|(a, b)| a.1 != b.1);
    let user = before.user != after.user;
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut pending = [
        (HEADER, header),
        (PROPERTIES, properties),
        (APPLICATION_PROPERTIES, user),
    ];
    for section in sections(raw)? {
        // A section we change but the message does not have goes in before the first later one.
        for (code, todo) in pending.iter_mut() {
            if *todo && *code < section.code {
                write_section(&mut out, *code, None, before, after)?;
                *todo = false;
            }
        }
        match pending.iter_mut().find(|(code, _)| *code == section.code) {
            Some((code, todo)) if *todo => {
                write_section(&mut out, *code, Some(section.value), before, after)?;
                *todo = false;
            }
            _ => out.extend_from_slice(section.whole),
        }
    }
    for (code, todo) in pending {
        if todo {
            write_section(&mut out, code, None, before, after)?;
        }
    }
    Ok(out)
}

fn write_section(
    out: &mut Vec<u8>,
    code: u64,
    original: Option<&[u8]>,
    before: &MessageView,
    after: &MessageView,
) -> Result<(), CodecError> {
    write::descriptor(out, code as u8);
    match code {
        HEADER => write_header(out, original, after.time_to_live),
        PROPERTIES => write_properties(out, original, after),
        _ => write_user(out, original, before, after),
    }
}

fn write_header(
    out: &mut Vec<u8>,
    original: Option<&[u8]>,
    ttl: Option<Duration>,
) -> Result<(), CodecError> {
    let items: Vec<&[u8]> = match original {
        Some(list) => wire::list_items(list)?.collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let mark = write::begin_compound(out, false);
    let count = items.len().max(3);
    for i in 0..count {
        match (i, items.get(i)) {
            (2, _) => match ttl {
                Some(t) => write::uint(out, u32::try_from(t.as_millis()).unwrap_or(u32::MAX)),
                None => out.push(0x40),
            },
            (_, Some(item)) => out.extend_from_slice(item),
            (_, None) => out.push(0x40),
        }
    }
    write::end_compound(out, mark, count as u32);
    Ok(())
}

/// The properties-section fields a view holds, by list index.
fn property_slots(view: &MessageView) -> [(usize, &Option<String>); 8] {
    [
        (0, &view.message_id),
        (2, &view.to),
        (3, &view.label),
        (4, &view.reply_to),
        (5, &view.correlation_id),
        (6, &view.content_type),
        (10, &view.session_id),
        (12, &view.reply_to_session_id),
    ]
}

fn write_properties(
    out: &mut Vec<u8>,
    original: Option<&[u8]>,
    after: &MessageView,
) -> Result<(), CodecError> {
    let items: Vec<&[u8]> = match original {
        Some(list) => wire::list_items(list)?.collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let slots = property_slots(after);
    let last_set = slots
        .iter()
        .filter(|(_, v)| v.is_some())
        .map(|(i, _)| i + 1)
        .max()
        .unwrap_or(0);
    let count = items.len().max(last_set);
    let mark = write::begin_compound(out, false);
    for i in 0..count {
        let slot = slots.iter().find(|(index, _)| *index == i);
        let original = items.get(i).copied();
        match slot {
            // Unchanged text keeps its original encoding (a uuid message id stays a uuid).
            Some((_, value)) if original.is_some_and(|o| same_text(o, value)) => {
                out.extend_from_slice(original.unwrap_or(&[0x40]))
            }
            Some((6, Some(text))) => write::symbol(out, text),
            Some((_, Some(text))) => write::string(out, text),
            Some((_, None)) => out.push(0x40),
            None => out.extend_from_slice(original.unwrap_or(&[0x40])),
        }
    }
    write::end_compound(out, mark, count as u32);
    Ok(())
}

/// Whether the encoded field reads as `text` in a view.
fn same_text(raw: &[u8], text: &Option<String>) -> bool {
    let decoded = if wire::is_null(raw) { None } else { id_text(raw) };
    decoded == *text
}

fn write_user(
    out: &mut Vec<u8>,
    original: Option<&[u8]>,
    before: &MessageView,
    after: &MessageView,
) -> Result<(), CodecError> {
    let mark = write::begin_compound(out, true);
    let mut entries = 0u32;
    let mut kept = std::collections::BTreeSet::new();
    if let Some(map) = original {
        for (key, value) in pairs(map)? {
            let Some(name) = wire::as_str(key) else {
                out.extend_from_slice(key);
                out.extend_from_slice(value);
                entries += 1;
                continue;
            };
            match after.user.get(name) {
                None => continue,
                Some(new) if before.user.get(name) == Some(new) => {
                    out.extend_from_slice(key);
                    out.extend_from_slice(value);
                }
                Some(new) => {
                    out.extend_from_slice(key);
                    write_value(out, new);
                }
            }
            kept.insert(name.to_owned());
            entries += 1;
        }
    }
    for (name, value) in &after.user {
        if !kept.contains(name) {
            write::string(out, name);
            write_value(out, value);
            entries += 1;
        }
    }
    write::end_compound(out, mark, entries * 2);
    Ok(())
}

/// Encodes a filter value (a value that cannot be written, [`Value::Other`], becomes null).
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null | Value::Other => out.push(0x40),
        Value::Bool(true) => out.push(0x41),
        Value::Bool(false) => out.push(0x42),
        Value::Long(v) => write::long(out, *v),
        Value::Double(v) => {
            out.push(0x82);
            out.extend_from_slice(&v.to_be_bytes());
        }
        Value::String(s) => write::string(out, s),
        Value::DateTime(at) => write::timestamp(out, unix_ms(*at)),
        Value::Duration(d) => {
            out.push(0x00);
            write::symbol(out, TIMESPAN_DESCRIPTOR);
            let ticks = d.as_nanos() / 100;
            write::long(out, i64::try_from(ticks).unwrap_or(i64::MAX));
        }
        Value::Uuid(bytes) => write::uuid(out, bytes),
    }
}


#[cfg(test)]
#[path = "codec_tests.rs"]
mod tests;
