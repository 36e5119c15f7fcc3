//! Service Bus message encoding on the broker side, working on raw AMQP bytes.
//!
//! In: [`inspect`] reads what the entity layer needs from a client's encoded message (ids, TTL,
//! scheduled time) and checks its section layout; [`batch_messages`] splits a batch transfer
//! (message-format [`BATCH_FORMAT`]). Out: [`encode_delivery`] writes the message a receiver
//! gets — a header that always carries `delivery-count`, the lock token as a delivery
//! annotation, the broker's message annotations merged over the client's, dead-letter
//! application properties — followed by the client's other sections byte for byte.
//! [`rewrite_application_properties`] applies "properties to modify" (abandon/defer/dead-letter).
//! Bodies are never decoded.

use super::wire::{self, write, CodecError, Reader};

/// `message-format` of a batch transfer: each Data section holds one complete encoded message.
pub const BATCH_FORMAT: u32 = 0x8001_3700;

const HEADER: u64 = 0x70;
const DELIVERY_ANNOTATIONS: u64 = 0x71;
const MESSAGE_ANNOTATIONS: u64 = 0x72;
const PROPERTIES: u64 = 0x73;
const APPLICATION_PROPERTIES: u64 = 0x74;
const DATA: u64 = 0x75;
const FOOTER: u64 = 0x78;

/// The application property holding the dead-letter reason.
pub const DEAD_LETTER_REASON: &str = "DeadLetterReason";
/// The application property holding the dead-letter description.
pub const DEAD_LETTER_DESCRIPTION: &str = "DeadLetterErrorDescription";

/// What the broker needs to know about an incoming message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MessageInfo<'a> {
    /// Whether `properties.message-id` is set (Service Bus assigns one otherwise).
    pub has_message_id: bool,
    /// `properties.message-id` as encoded (any AMQP message-id type).
    pub message_id: Option<&'a [u8]>,
    /// `properties.group-id`: the session id.
    pub session_id: Option<&'a str>,
    /// `x-opt-partition-key` message annotation.
    pub partition_key: Option<&'a str>,
    /// `header.ttl` in milliseconds.
    pub time_to_live_ms: Option<u64>,
    /// `x-opt-scheduled-enqueue-time` message annotation, ms since the Unix epoch.
    pub scheduled_enqueue_time_ms: Option<i64>,
    /// Encoded size in bytes.
    pub size: usize,
}

/// What the broker adds to a message on its way to a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stamp<'s> {
    /// The lock token (RFC 4122 byte order) for peek-lock deliveries; written as the
    /// `x-opt-lock-token` delivery annotation.
    pub lock_token: Option<[u8; 16]>,
    /// Prior delivery attempts (`header.delivery-count`).
    pub delivery_count: u32,
    /// The effective time to live (`header.ttl`, ms): the message's own capped by the
    /// entity's default, or the default when it set none. `None` keeps the client's.
    pub time_to_live_ms: Option<u32>,
    /// `x-opt-sequence-number`.
    pub sequence_number: i64,
    /// `x-opt-enqueued-time`, ms since the Unix epoch.
    pub enqueued_time_ms: i64,
    /// `x-opt-locked-until`, ms since the Unix epoch (peek-lock only).
    pub locked_until_ms: Option<i64>,
    /// `x-opt-message-state` (0 active, 1 deferred, 2 scheduled).
    pub state: i32,
    /// `x-opt-enqueue-sequence-number`.
    pub enqueue_sequence_number: i64,
    /// `DeadLetterReason` application property (dead-lettered messages).
    pub dead_letter_reason: Option<&'s str>,
    /// `DeadLetterErrorDescription` application property (dead-lettered messages).
    pub dead_letter_description: Option<&'s str>,
    /// `x-opt-deadletter-source` (messages that arrived by dead-letter forwarding).
    pub dead_letter_source: Option<&'s str>,
}

/// One section of an encoded message.
struct Section<'a> {
    code: u64,
    /// The whole section, descriptor included.
    whole: &'a [u8],
    /// The section's value.
    value: &'a [u8],
}

fn sections(raw: &[u8]) -> impl Iterator<Item = Result<Section<'_>, CodecError>> {
    let mut reader = Reader::new(raw);
    std::iter::from_fn(move || {
        if reader.is_empty() {
            return None;
        }
        let section = reader
            .value()
            .and_then(|whole| match wire::described(whole) {
                Some((code, value)) if (HEADER..=FOOTER).contains(&code) => {
                    Ok(Section { code, whole, value })
                }
                _ => Err(CodecError::Shape("expected a message section")),
            });
        if section.is_err() {
            reader = Reader::new(&[]);
        }
        Some(section)
    })
}

/// Reads what the broker needs from `raw` and checks that it is a well-formed message
/// (sections in order, each non-body section at most once, every value well formed, the
/// header a list and the annotation and application-property sections maps).
pub fn inspect(raw: &[u8]) -> Result<MessageInfo<'_>, CodecError> {
    // Check every value, not only the fields read here: a message accepted here must
    // re-encode in `encode_delivery`, or it would sit in its queue undeliverable.
    crate::amqp::validate_encoded(raw).map_err(CodecError::Malformed)?;
    let mut info = MessageInfo {
        size: raw.len(),
        ..MessageInfo::default()
    };
    let mut previous = 0;
    for section in sections(raw) {
        let Section { code, value, .. } = section?;
        if code < previous || (code == previous && !(DATA..FOOTER).contains(&code)) {
            return Err(CodecError::Shape(
                "message sections out of order or repeated",
            ));
        }
        previous = code;
        match code {
            HEADER => info.time_to_live_ms = nth_item(value, 2)?.and_then(wire::as_u64),
            APPLICATION_PROPERTIES => {
                for pair in pairs(value)? {
                    pair?;
                }
            }
            PROPERTIES => {
                info.message_id = nth_item(value, 0)?;
                info.has_message_id = info.message_id.is_some();
                info.session_id = nth_item(value, 10)?.and_then(wire::as_str);
            }
            MESSAGE_ANNOTATIONS => {
                for pair in pairs(value)? {
                    let (key, value) = pair?;
                    match wire::as_str(key) {
                        Some("x-opt-scheduled-enqueue-time") => {
                            info.scheduled_enqueue_time_ms = wire::as_timestamp(value)
                        }
                        Some("x-opt-partition-key") => info.partition_key = wire::as_str(value),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

/// The messages inside a batch transfer's payload (one per Data section).
pub fn batch_messages(raw: &[u8]) -> impl Iterator<Item = Result<&[u8], CodecError>> {
    sections(raw).filter_map(|section| match section {
        Ok(Section {
            code: DATA, value, ..
        }) => Some(binary_bytes(value)),
        Ok(_) => None,
        Err(e) => Some(Err(e)),
    })
}

fn binary_bytes(raw: &[u8]) -> Result<&[u8], CodecError> {
    match raw.first() {
        Some(0xa0) => raw.get(2..),
        Some(0xb0) => raw.get(5..),
        _ => None,
    }
    .ok_or(CodecError::Shape("a Data section must hold a binary"))
}

/// The `index`th item of an encoded list, `None` when the list is shorter.
fn nth_item(list: &[u8], index: usize) -> Result<Option<&[u8]>, CodecError> {
    let item = wire::list_items(list)?.nth(index).transpose()?;
    Ok(item.filter(|raw| !wire::is_null(raw)))
}

/// A raw key and its raw value.
type Pair<'a> = (&'a [u8], &'a [u8]);

/// The key/value pairs of an encoded map.
fn pairs(map: &[u8]) -> Result<impl Iterator<Item = Result<Pair<'_>, CodecError>>, CodecError> {
    let mut items = wire::map_items(map)?;
    Ok(std::iter::from_fn(move || {
        let key = items.next()?;
        let value = items
            .next()
            .unwrap_or(Err(CodecError::Shape("a map has an odd number of items")));
        Some(key.and_then(|k| value.map(|v| (k, v))))
    }))
}

/// A value the broker writes into a map.
#[derive(Debug, Clone, Copy)]
enum Added<'v> {
    Long(i64),
    Timestamp(i64),
    Int(i32),
    Str(&'v str),
    Raw(&'v [u8]),
}

/// Writes `original`'s entries whose keys are not in `added`, then `added`, as one map.
fn write_merged_map(
    out: &mut Vec<u8>,
    original: Option<&[u8]>,
    added: &[Option<(&str, Added<'_>)>],
    symbol_keys: bool,
) -> Result<(), CodecError> {
    let mark = write::begin_compound(out, true);
    let mut entries = 0u32;
    if let Some(original) = original {
        for pair in pairs(original)? {
            let (key, value) = pair?;
            if wire::as_str(key).is_some_and(|k| added.iter().flatten().any(|(name, _)| *name == k))
            {
                continue;
            }
            out.extend_from_slice(key);
            out.extend_from_slice(value);
            entries += 1;
        }
    }
    for (key, value) in added.iter().flatten() {
        if symbol_keys {
            write::symbol(out, key);
        } else {
            write::string(out, key);
        }
        match *value {
            Added::Long(v) => write::long(out, v),
            Added::Timestamp(v) => write::timestamp(out, v),
            Added::Int(v) => write::int(out, v),
            Added::Str(v) => write::string(out, v),
            Added::Raw(v) => out.extend_from_slice(v),
        }
        entries += 1;
    }
    write::end_compound(out, mark, entries * 2);
    Ok(())
}

/// Appends to `out` the message a receiver gets: `raw` (a message accepted by [`inspect`])
/// with the broker's header, annotations and dead-letter properties from `stamp`.
pub fn encode_delivery(raw: &[u8], stamp: &Stamp<'_>, out: &mut Vec<u8>) -> Result<(), CodecError> {
    out.reserve(raw.len() + 160);
    let (mut header, mut annotations, mut app_properties) = (None, None, None);
    let mut properties: &[u8] = &[];
    let mut rest = raw.len();
    for (offset, section) in section_offsets(raw) {
        let section = section?;
        match section.code {
            HEADER => header = Some(section.value),
            MESSAGE_ANNOTATIONS => annotations = Some(section.value),
            PROPERTIES => properties = section.whole,
            APPLICATION_PROPERTIES => app_properties = Some(section.value),
            DELIVERY_ANNOTATIONS => {}
            _ => {
                rest = offset;
                break;
            }
        }
    }

    write_header(out, header, stamp.delivery_count, stamp.time_to_live_ms)?;
    if let Some(token) = &stamp.lock_token {
        write::descriptor(out, DELIVERY_ANNOTATIONS as u8);
        let mark = write::begin_compound(out, true);
        write::symbol(out, "x-opt-lock-token");
        write::uuid(out, token);
        write::end_compound(out, mark, 2);
    }
    let locked_until = stamp
        .locked_until_ms
        .map(|ms| ("x-opt-locked-until", Added::Timestamp(ms)));
    let ours = [
        Some(("x-opt-sequence-number", Added::Long(stamp.sequence_number))),
        Some((
            "x-opt-enqueued-time",
            Added::Timestamp(stamp.enqueued_time_ms),
        )),
        locked_until,
        Some(("x-opt-message-state", Added::Int(stamp.state))),
        Some((
            "x-opt-enqueue-sequence-number",
            Added::Long(stamp.enqueue_sequence_number),
        )),
        stamp
            .dead_letter_source
            .map(|s| ("x-opt-deadletter-source", Added::Str(s))),
    ];
    write::descriptor(out, MESSAGE_ANNOTATIONS as u8);
    write_merged_map(out, annotations, &ours, true)?;
    out.extend_from_slice(properties);

    let dead_letter = [
        stamp
            .dead_letter_reason
            .map(|r| (DEAD_LETTER_REASON, Added::Str(r))),
        stamp
            .dead_letter_description
            .map(|d| (DEAD_LETTER_DESCRIPTION, Added::Str(d))),
    ];
    write_application_properties(out, app_properties, &dead_letter)?;
    out.extend_from_slice(&raw[rest..]);
    Ok(())
}

fn write_application_properties(
    out: &mut Vec<u8>,
    original: Option<&[u8]>,
    added: &[Option<(&str, Added<'_>)>],
) -> Result<(), CodecError> {
    match original {
        Some(_) | None if added.iter().any(Option::is_some) => {
            write::descriptor(out, APPLICATION_PROPERTIES as u8);
            write_merged_map(out, original, added, false)
        }
        Some(original) => {
            write::descriptor(out, APPLICATION_PROPERTIES as u8);
            out.extend_from_slice(original);
            Ok(())
        }
        None => Ok(()),
    }
}

fn section_offsets(raw: &[u8]) -> impl Iterator<Item = (usize, Result<Section<'_>, CodecError>)> {
    let base = raw.as_ptr() as usize;
    sections(raw).map(move |s| {
        let offset = s.as_ref().map_or(0, |s| s.whole.as_ptr() as usize - base);
        (offset, s)
    })
}

fn write_header(
    out: &mut Vec<u8>,
    client: Option<&[u8]>,
    delivery_count: u32,
    time_to_live_ms: Option<u32>,
) -> Result<(), CodecError> {
    const TTL: usize = 2;
    write::descriptor(out, HEADER as u8);
    let mark = write::begin_compound(out, false);
    let mut fields = client.map(wire::list_items).transpose()?;
    for index in 0..4 {
        let field = fields.as_mut().and_then(Iterator::next).transpose()?;
        match (field, time_to_live_ms) {
            (_, Some(ttl)) if index == TTL => write::uint(out, ttl),
            (Some(field), _) => out.extend_from_slice(field),
            (None, _) => out.push(0x40),
        }
    }
    write::uint(out, delivery_count);
    write::end_compound(out, mark, 5);
    Ok(())
}

/// Re-encodes `raw` with `properties.message-id` set to the string `id` (adding a properties
/// section if there is none), as Service Bus does for messages sent without one.
pub fn with_message_id(raw: &[u8], id: &str) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::with_capacity(raw.len() + id.len() + 16);
    let mut written = false;
    let write_properties = |out: &mut Vec<u8>, rest: Option<&[u8]>| -> Result<(), CodecError> {
        write::descriptor(out, PROPERTIES as u8);
        let mark = write::begin_compound(out, false);
        write::string(out, id);
        let mut count = 1;
        if let Some(list) = rest {
            for item in wire::list_items(list)?.skip(1) {
                out.extend_from_slice(item?);
                count += 1;
            }
        }
        write::end_compound(out, mark, count);
        Ok(())
    };
    for section in sections(raw) {
        let section = section?;
        if section.code == PROPERTIES {
            write_properties(&mut out, Some(section.value))?;
            written = true;
            continue;
        }
        if section.code > PROPERTIES && !written {
            write_properties(&mut out, None)?;
            written = true;
        }
        out.extend_from_slice(section.whole);
    }
    if !written {
        write_properties(&mut out, None)?;
    }
    Ok(out)
}

/// Re-encodes `raw` with application properties set from `changes` (key → encoded AMQP
/// value), as "properties to modify" on abandon, defer and dead-letter do.
pub fn rewrite_application_properties(
    raw: &[u8],
    changes: &[(&str, &[u8])],
) -> Result<Vec<u8>, CodecError> {
    let added: Vec<_> = changes
        .iter()
        .map(|(k, v)| Some((*k, Added::Raw(v))))
        .collect();
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut written = false;
    for section in sections(raw) {
        let section = section?;
        if section.code == APPLICATION_PROPERTIES {
            write_application_properties(&mut out, Some(section.value), &added)?;
            written = true;
            continue;
        }
        if section.code > APPLICATION_PROPERTIES && !written {
            write_application_properties(&mut out, None, &added)?;
            written = true;
        }
        out.extend_from_slice(section.whole);
    }
    if !written {
        write_application_properties(&mut out, None, &added)?;
    }
    Ok(out)
}

#[cfg(test)]
#[path = "codec_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
