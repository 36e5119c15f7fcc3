//! Log records and their binary form.
//!
//! Every record is framed as `len: u32 LE | crc32(payload): u32 LE | payload`; the payload
//! starts with a one-byte tag. Integers are little-endian; strings and byte strings carry a
//! `u32` length; optional values a presence byte. Times are milliseconds since the Unix epoch.

use std::borrow::Cow;

use super::wire::{Reader, Writer};
use crate::entity::{EntityOptions, EntityStatus, Sub, TopicOptions};

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
        options: TopicOptions,
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
        sub: Sub,
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
        sub: Sub,
        seq: i64,
        body: Option<&'a [u8]>,
    },
    ReplaceBody {
        entity: u32,
        sub: Sub,
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
    /// A scheduled message turned active under a new sequence number (`entity::activation`).
    Activate {
        entity: u32,
        seq: i64,
        new_seq: i64,
    },
    /// An entity's created / updated / accessed times (`entity::runtime`).
    EntityTimes {
        entity: u32,
        created_ms: i64,
        updated_ms: i64,
        accessed_ms: Option<i64>,
    },
    /// A message id entered the duplicate detection history of a queue or topic at `at_ms`
    /// (the message got sequence number `seq`).
    Seen {
        entity: u32,
        message_id: &'a str,
        at_ms: i64,
        seq: i64,
    },
    /// The entity's status changed.
    SetStatus {
        entity: u32,
        status: EntityStatus,
    },
    /// A message of `from` (main or dead-letter sub-queue) could not be forwarded and moved to
    /// the transfer dead-letter sub-queue.
    TransferDeadLetter {
        entity: u32,
        from: Sub,
        seq: i64,
        reason: Option<&'a str>,
        description: Option<&'a str>,
    },
    /// A main-queue message arrived by dead-letter forwarding: it carries the dead-letter
    /// reason, description and the entity it was dead-lettered in.
    ForwardedDeadLetter {
        entity: u32,
        seq: i64,
        reason: Option<&'a str>,
        description: Option<&'a str>,
        source: &'a str,
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
const T_SET_STATUS: u8 = 13;
const T_TRANSFER_DEAD_LETTER: u8 = 14;
const T_FORWARDED_DEAD_LETTER: u8 = 15;
const T_SEEN: u8 = 16;
/// Far from the others, so that tags other branches add meanwhile do not collide.
const T_ENTITY_TIMES: u8 = 40;
const T_ACTIVATE: u8 = 41;

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
            Record::CreateTopic { id, name, options } => {
                w.u8(T_CREATE_TOPIC);
                w.u32(*id);
                w.str(name);
                w.topic_options(options);
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
            Record::Remove { entity, sub, seq } => {
                w.u8(T_REMOVE);
                w.u32(*entity);
                w.u8(sub.code());
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
                sub,
                seq,
                body,
            } => {
                w.u8(T_DEFER);
                w.u32(*entity);
                w.u8(sub.code());
                w.i64(*seq);
                w.opt_bytes(*body);
            }
            Record::ReplaceBody {
                entity,
                sub,
                seq,
                body,
            } => {
                w.u8(T_REPLACE_BODY);
                w.u32(*entity);
                w.u8(sub.code());
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
            Record::Activate {
                entity,
                seq,
                new_seq,
            } => {
                w.u8(T_ACTIVATE);
                w.u32(*entity);
                w.i64(*seq);
                w.i64(*new_seq);
            }
            Record::EntityTimes {
                entity,
                created_ms,
                updated_ms,
                accessed_ms,
            } => {
                w.u8(T_ENTITY_TIMES);
                w.u32(*entity);
                w.i64(*created_ms);
                w.i64(*updated_ms);
                w.opt_i64(*accessed_ms);
            }
            Record::Seen {
                entity,
                message_id,
                at_ms,
                seq,
            } => {
                w.u8(T_SEEN);
                w.u32(*entity);
                w.str(message_id);
                w.i64(*at_ms);
                w.i64(*seq);
            }
            Record::SetStatus { entity, status } => {
                w.u8(T_SET_STATUS);
                w.u32(*entity);
                w.u8(status.code());
            }
            Record::TransferDeadLetter {
                entity,
                from,
                seq,
                reason,
                description,
            } => {
                w.u8(T_TRANSFER_DEAD_LETTER);
                w.u32(*entity);
                w.u8(from.code());
                w.i64(*seq);
                w.opt_bytes(reason.map(str::as_bytes));
                w.opt_bytes(description.map(str::as_bytes));
            }
            Record::ForwardedDeadLetter {
                entity,
                seq,
                reason,
                description,
                source,
            } => {
                w.u8(T_FORWARDED_DEAD_LETTER);
                w.u32(*entity);
                w.i64(*seq);
                w.opt_bytes(reason.map(str::as_bytes));
                w.opt_bytes(description.map(str::as_bytes));
                w.str(source);
            }
            Record::Rules { entity, rules } => {
                w.u8(T_RULES);
                w.u32(*entity);
                w.bytes(rules);
            }
        }
    }
}

#[path = "record_decode.rs"]
mod decode;

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
