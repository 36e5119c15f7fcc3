//! Log records and their binary form.
//!
//! Every record is framed as `len: u32 LE | crc32(payload): u32 LE | payload`; the payload
//! starts with a one-byte tag. Integers are little-endian; strings and byte strings carry a
//! `u32` length; optional values a presence byte. Times are milliseconds since the Unix epoch.

use std::borrow::Cow;

use super::wire::{Reader, Writer};
use crate::entity::EntityOptions;

/// Bytes of the frame header (length + CRC).
pub(crate) const FRAME_HEADER: usize = 8;

/// One change to the namespace, as logged.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Record<'a> {
    CreateQueue {
        id: u32,
        name: &'a str,
        options: EntityOptions,
    },
    CreateTopic {
        id: u32,
        name: &'a str,
    },
    CreateSubscription {
        id: u32,
        topic: u32,
        name: &'a str,
        options: EntityOptions,
    },
    DeleteEntity {
        id: u32,
    },
    /// A message enqueued into each of `targets` (one queue, or a topic's subscriptions) with
    /// the sequence number `seq` drawn from `source` (the queue or the topic). `ttl_ms` is the
    /// message's own time to live; each target caps it with its default on recovery.
    Enqueue {
        source: u32,
        targets: Cow<'a, [u32]>,
        seq: i64,
        enqueued_ms: i64,
        ttl_ms: Option<i64>,
        scheduled_ms: Option<i64>,
        session: Option<&'a str>,
        body: &'a [u8],
    },
    Remove {
        entity: u32,
        dlq: bool,
        seq: i64,
    },
    DeadLetter {
        entity: u32,
        seq: i64,
        reason: Option<&'a str>,
        description: Option<&'a str>,
        body: Option<&'a [u8]>,
    },
    Defer {
        entity: u32,
        dlq: bool,
        seq: i64,
        body: Option<&'a [u8]>,
    },
    ReplaceBody {
        entity: u32,
        dlq: bool,
        seq: i64,
        body: &'a [u8],
    },
    SessionState {
        entity: u32,
        session: &'a str,
        state: Option<&'a [u8]>,
        updated_ms: i64,
    },
    /// The next sequence number of a queue or topic (written by compaction).
    NextSequence {
        entity: u32,
        next: i64,
    },
    /// A subscription's whole rule set from now on (see [`super::rules`] for `rules`). A
    /// subscription without one has `$Default` alone.
    Rules {
        entity: u32,
        rules: &'a [u8],
    },
}

const T_CREATE_QUEUE: u8 = 1;
const T_CREATE_TOPIC: u8 = 2;
const T_CREATE_SUBSCRIPTION: u8 = 3;
const T_DELETE: u8 = 4;
const T_ENQUEUE: u8 = 5;
const T_REMOVE: u8 = 6;
const T_DEAD_LETTER: u8 = 7;
const T_DEFER: u8 = 8;
const T_REPLACE_BODY: u8 = 9;
const T_SESSION_STATE: u8 = 10;
const T_NEXT_SEQUENCE: u8 = 11;
const T_RULES: u8 = 12;

/// Why a payload could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError(pub &'static str);

impl Record<'_> {
    /// Appends the payload (no frame) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer(out);
        match self {
            Record::CreateQueue { id, name, options } => {
                w.u8(T_CREATE_QUEUE);
                w.u32(*id);
                w.str(name);
                w.options(options);
            }
            Record::CreateTopic { id, name } => {
                w.u8(T_CREATE_TOPIC);
                w.u32(*id);
                w.str(name);
            }
            Record::CreateSubscription {
                id,
                topic,
                name,
                options,
            } => {
                w.u8(T_CREATE_SUBSCRIPTION);
                w.u32(*id);
                w.u32(*topic);
                w.str(name);
                w.options(options);
            }
            Record::DeleteEntity { id } => {
                w.u8(T_DELETE);
                w.u32(*id);
            }
            Record::Enqueue {
                source,
                targets,
                seq,
                enqueued_ms,
                ttl_ms,
                scheduled_ms,
                session,
                body,
            } => {
                w.u8(T_ENQUEUE);
                w.u32(*source);
                w.u32(targets.len() as u32);
                for t in targets.iter() {
                    w.u32(*t);
                }
                w.i64(*seq);
                w.i64(*enqueued_ms);
                w.opt_i64(*ttl_ms);
                w.opt_i64(*scheduled_ms);
                w.opt_bytes(session.map(str::as_bytes));
                w.bytes(body);
            }
            Record::Remove { entity, dlq, seq } => {
                w.u8(T_REMOVE);
                w.u32(*entity);
                w.u8(u8::from(*dlq));
                w.i64(*seq);
            }
            Record::DeadLetter {
                entity,
                seq,
                reason,
                description,
                body,
            } => {
                w.u8(T_DEAD_LETTER);
                w.u32(*entity);
                w.i64(*seq);
                w.opt_bytes(reason.map(str::as_bytes));
                w.opt_bytes(description.map(str::as_bytes));
                w.opt_bytes(*body);
            }
            Record::Defer {
                entity,
                dlq,
                seq,
                body,
            } => {
                w.u8(T_DEFER);
                w.u32(*entity);
                w.u8(u8::from(*dlq));
                w.i64(*seq);
                w.opt_bytes(*body);
            }
            Record::ReplaceBody {
                entity,
                dlq,
                seq,
                body,
            } => {
                w.u8(T_REPLACE_BODY);
                w.u32(*entity);
                w.u8(u8::from(*dlq));
                w.i64(*seq);
                w.bytes(body);
            }
            Record::SessionState {
                entity,
                session,
                state,
                updated_ms,
            } => {
                w.u8(T_SESSION_STATE);
                w.u32(*entity);
                w.str(session);
                w.opt_bytes(*state);
                w.i64(*updated_ms);
            }
            Record::NextSequence { entity, next } => {
                w.u8(T_NEXT_SEQUENCE);
                w.u32(*entity);
                w.i64(*next);
            }
            Record::Rules { entity, rules } => {
                w.u8(T_RULES);
                w.u32(*entity);
                w.bytes(rules);
            }
        }
    }

    /// Decodes one payload (without its frame).
    pub fn decode(payload: &[u8]) -> Result<Record<'_>, DecodeError> {
        let mut r = Reader(payload);
        let rec = match r.u8()? {
            T_CREATE_QUEUE => Record::CreateQueue {
                id: r.u32()?,
                name: r.str()?,
                options: r.options()?,
            },
            T_CREATE_TOPIC => Record::CreateTopic {
                id: r.u32()?,
                name: r.str()?,
            },
            T_CREATE_SUBSCRIPTION => Record::CreateSubscription {
                id: r.u32()?,
                topic: r.u32()?,
                name: r.str()?,
                options: r.options()?,
            },
            T_DELETE => Record::DeleteEntity { id: r.u32()? },
            T_ENQUEUE => {
                let source = r.u32()?;
                let n = r.u32()? as usize;
                if n > r.0.len() / 4 {
                    return Err(DecodeError("target count beyond the record"));
                }
                let mut targets = Vec::with_capacity(n);
                for _ in 0..n {
                    targets.push(r.u32()?);
                }
                Record::Enqueue {
                    source,
                    targets: Cow::Owned(targets),
                    seq: r.i64()?,
                    enqueued_ms: r.i64()?,
                    ttl_ms: r.opt_i64()?,
                    scheduled_ms: r.opt_i64()?,
                    session: r.opt_str()?,
                    body: r.bytes()?,
                }
            }
            T_REMOVE => Record::Remove {
                entity: r.u32()?,
                dlq: r.u8()? != 0,
                seq: r.i64()?,
            },
            T_DEAD_LETTER => Record::DeadLetter {
                entity: r.u32()?,
                seq: r.i64()?,
                reason: r.opt_str()?,
                description: r.opt_str()?,
                body: r.opt_bytes()?,
            },
            T_DEFER => Record::Defer {
                entity: r.u32()?,
                dlq: r.u8()? != 0,
                seq: r.i64()?,
                body: r.opt_bytes()?,
            },
            T_REPLACE_BODY => Record::ReplaceBody {
                entity: r.u32()?,
                dlq: r.u8()? != 0,
                seq: r.i64()?,
                body: r.bytes()?,
            },
            T_SESSION_STATE => Record::SessionState {
                entity: r.u32()?,
                session: r.str()?,
                state: r.opt_bytes()?,
                updated_ms: r.i64()?,
            },
            T_NEXT_SEQUENCE => Record::NextSequence {
                entity: r.u32()?,
                next: r.i64()?,
            },
            T_RULES => Record::Rules {
                entity: r.u32()?,
                rules: r.bytes()?,
            },
            _ => return Err(DecodeError("unknown record tag")),
        };
        if !r.0.is_empty() {
            return Err(DecodeError("trailing bytes after the record"));
        }
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::segment::{frame, Frames};
    use std::time::Duration;

    #[test]
    fn records_round_trip_through_frames() {
        let options = EntityOptions {
            requires_session: true,
            lock_duration: Duration::from_millis(1500),
            ..EntityOptions::default()
        };
        let records = vec![
            Record::CreateQueue {
                id: 1,
                name: "q",
                options: options.clone(),
            },
            Record::CreateTopic { id: 2, name: "t" },
            Record::CreateSubscription {
                id: 3,
                topic: 2,
                name: "s",
                options,
            },
            Record::Enqueue {
                source: 2,
                targets: Cow::Owned(vec![3, 4]),
                seq: 9,
                enqueued_ms: 1_700_000_000_000,
                ttl_ms: Some(5),
                scheduled_ms: None,
                session: Some("sess"),
                body: b"body",
            },
            Record::Remove {
                entity: 3,
                dlq: true,
                seq: 9,
            },
            Record::DeadLetter {
                entity: 1,
                seq: 2,
                reason: Some("r"),
                description: None,
                body: Some(b"x"),
            },
            Record::Defer {
                entity: 1,
                dlq: false,
                seq: 3,
                body: None,
            },
            Record::ReplaceBody {
                entity: 1,
                dlq: false,
                seq: 4,
                body: b"",
            },
            Record::SessionState {
                entity: 1,
                session: "s",
                state: None,
                updated_ms: -1,
            },
            Record::NextSequence {
                entity: 2,
                next: 10,
            },
            Record::Rules {
                entity: 3,
                rules: b"\x01\0\0\0\0",
            },
            Record::DeleteEntity { id: 3 },
        ];
        let mut buf = Vec::new();
        for r in &records {
            frame(&mut buf, r);
        }
        let decoded: Vec<Record<'_>> = Frames::new(&buf)
            .map(|p| Record::decode(p).unwrap())
            .collect();
        assert_eq!(decoded, records);
        assert_eq!(
            Record::decode(&[99]),
            Err(DecodeError("unknown record tag"))
        );
        assert!(
            Record::decode(&buf[8..12]).is_err(),
            "a cut record does not decode"
        );
    }
}
