//! Recovery: replays the snapshot and the logs after it into the live state.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use bytes::Bytes;

use super::record::Record;
use super::segment::{list, log_path, snapshot_path, sync_dir, Frames};
use crate::entity::{EntityOptions, EntityStatus, Sub, TopicOptions};

/// What kind of entity a recovered definition is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RecoveredKind {
    Queue(EntityOptions),
    Topic(TopicOptions),
    Subscription { topic: u32, options: EntityOptions },
}

/// A message as recovered (delivery counts and locks are not kept).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecoveredMessage {
    pub source: u32,
    pub body: Bytes,
    pub session: Option<String>,
    pub enqueued_ms: i64,
    pub ttl_ms: Option<i64>,
    pub scheduled_ms: Option<i64>,
    pub deferred: bool,
    /// `Some((reason, description))` for dead letters.
    pub dead_letter: Option<(Option<String>, Option<String>)>,
    /// `x-opt-deadletter-source` of a message that arrived by dead-letter forwarding.
    pub dead_letter_source: Option<String>,
}

/// A recovered queue, topic or subscription.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecoveredEntity {
    pub kind: RecoveredKind,
    pub name: String,
    /// Next sequence number (queues and topics).
    pub next_seq: i64,
    pub messages: BTreeMap<i64, RecoveredMessage>,
    pub dead_letters: BTreeMap<i64, RecoveredMessage>,
    /// The transfer dead-letter sub-queue (messages that could not be forwarded).
    pub transfer_dead_letters: BTreeMap<i64, RecoveredMessage>,
    /// Session id → (state, updated ms).
    pub session_states: BTreeMap<String, (Bytes, i64)>,
    /// Created / updated / accessed ms (`None` in logs written before they were kept).
    pub times: Option<(i64, i64, Option<i64>)>,
    /// The status set after creation, if any.
    pub status: Option<EntityStatus>,
    /// Duplicate detection history: message id → (seen at ms, sequence number).
    pub seen: BTreeMap<String, (i64, i64)>,
    /// A subscription's rule set as last logged (`None`: `$Default` alone).
    pub rules: Option<Bytes>,
}

/// The namespace as the log describes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Recovered {
    pub entities: BTreeMap<u32, RecoveredEntity>,
    pub next_id: u32,
}

impl Recovered {
    fn define(&mut self, id: u32, name: &str, kind: RecoveredKind) {
        self.next_id = self.next_id.max(id.saturating_add(1));
        self.entities.insert(
            id,
            RecoveredEntity {
                kind,
                name: name.to_owned(),
                next_seq: 1,
                messages: BTreeMap::new(),
                dead_letters: BTreeMap::new(),
                transfer_dead_letters: BTreeMap::new(),
                session_states: BTreeMap::new(),
                times: None,
                status: None,
                seen: BTreeMap::new(),
                rules: None,
            },
        );
    }

    fn bump_seq(&mut self, id: u32, next: i64) {
        if let Some(e) = self.entities.get_mut(&id) {
            e.next_seq = e.next_seq.max(next);
        }
    }

    fn message(&mut self, id: u32, sub: Sub, seq: i64) -> Option<&mut RecoveredMessage> {
        self.entities.get_mut(&id)?.sub(sub).get_mut(&seq)
    }

    /// Applies one record. Records about unknown entities or messages are ignored: they can
    /// follow a torn or deleted predecessor.
    pub fn apply(&mut self, rec: Record<'_>) {
        match rec {
            Record::CreateQueue { id, name, options } => {
                self.define(id, name, RecoveredKind::Queue(options))
            }
            Record::CreateTopic { id, name, options } => {
                self.define(id, name, RecoveredKind::Topic(options))
            }
            Record::CreateSubscription {
                id,
                topic,
                name,
                options,
            } => self.define(id, name, RecoveredKind::Subscription { topic, options }),
            Record::DeleteEntity { id } => {
                self.entities.remove(&id);
                self.entities.retain(|_, e| {
                    !matches!(e.kind, RecoveredKind::Subscription { topic, .. } if topic == id)
                });
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
                self.bump_seq(source, seq.saturating_add(1));
                let body = Bytes::copy_from_slice(body);
                for target in targets.iter() {
                    if let Some(e) = self.entities.get_mut(target) {
                        e.messages.insert(
                            seq,
                            RecoveredMessage {
                                source,
                                body: body.clone(),
                                session: session.map(str::to_owned),
                                enqueued_ms,
                                ttl_ms,
                                scheduled_ms,
                                deferred: false,
                                dead_letter: None,
                                dead_letter_source: None,
                            },
                        );
                    }
                }
            }
            Record::Remove { entity, sub, seq } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    e.sub(sub).remove(&seq);
                }
            }
            Record::DeadLetter {
                entity,
                seq,
                reason,
                description,
                body,
            } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    if let Some(mut m) = e.messages.remove(&seq) {
                        if let Some(b) = body {
                            m.body = Bytes::copy_from_slice(b);
                        }
                        m.deferred = false;
                        m.dead_letter =
                            Some((reason.map(str::to_owned), description.map(str::to_owned)));
                        e.dead_letters.insert(seq, m);
                    }
                }
            }
            Record::Defer {
                entity,
                sub,
                seq,
                body,
            } => {
                if let Some(m) = self.message(entity, sub, seq) {
                    m.deferred = true;
                    if let Some(b) = body {
                        m.body = Bytes::copy_from_slice(b);
                    }
                }
            }
            Record::ReplaceBody {
                entity,
                sub,
                seq,
                body,
            } => {
                if let Some(m) = self.message(entity, sub, seq) {
                    m.body = Bytes::copy_from_slice(body);
                }
            }
            Record::SessionState {
                entity,
                session,
                state,
                updated_ms,
            } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    match state {
                        Some(s) => {
                            e.session_states.insert(
                                session.to_owned(),
                                (Bytes::copy_from_slice(s), updated_ms),
                            );
                        }
                        None => {
                            e.session_states.remove(session);
                        }
                    }
                }
            }
            Record::NextSequence { entity, next } => self.bump_seq(entity, next),
            Record::Activate {
                entity,
                seq,
                new_seq,
            } => {
                let Some(e) = self.entities.get_mut(&entity) else {
                    return;
                };
                let Some(mut m) = e.messages.remove(&seq) else {
                    return;
                };
                // Active from now on, enqueued at its scheduled time.
                if let Some(at) = m.scheduled_ms.take() {
                    m.enqueued_ms = at;
                }
                let source = m.source;
                e.messages.insert(new_seq, m);
                self.bump_seq(source, new_seq.saturating_add(1));
            }
            Record::EntityTimes {
                entity,
                created_ms,
                updated_ms,
                accessed_ms,
            } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    e.times = Some((created_ms, updated_ms, accessed_ms));
                }
            }
            Record::Seen {
                entity,
                message_id,
                at_ms,
                seq,
            } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    e.seen.insert(message_id.to_owned(), (at_ms, seq));
                }
            }
            Record::SetStatus { entity, status } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    e.status = Some(status);
                }
            }
            Record::TransferDeadLetter {
                entity,
                from,
                seq,
                reason,
                description,
            } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    if let Some(mut m) = e.sub(from).remove(&seq) {
                        m.deferred = false;
                        m.dead_letter =
                            Some((reason.map(str::to_owned), description.map(str::to_owned)));
                        e.transfer_dead_letters.insert(seq, m);
                    }
                }
            }
            Record::ForwardedDeadLetter {
                entity,
                seq,
                reason,
                description,
                source,
            } => {
                if let Some(m) = self.message(entity, Sub::Main, seq) {
                    m.dead_letter = Some((reason.map(str::to_owned), description.map(str::to_owned)));
                    m.dead_letter_source = Some(source.to_owned());
                }
            }
            Record::Rules { entity, rules } => {
                if let Some(e) = self.entities.get_mut(&entity) {
                    e.rules = Some(Bytes::copy_from_slice(rules));
                }
            }
        }
    }
}

impl RecoveredEntity {
    /// The messages of one sub-queue.
    pub fn sub(&mut self, sub: Sub) -> &mut BTreeMap<i64, RecoveredMessage> {
        match sub {
            Sub::Main => &mut self.messages,
            Sub::DeadLetter => &mut self.dead_letters,
            Sub::TransferDeadLetter => &mut self.transfer_dead_letters,
        }
    }
}

/// Replays one segment file. A torn or corrupt tail is cut off when `truncate` is set.
/// Returns the file's valid length.
pub(crate) fn replay_file(path: &Path, state: &mut Recovered, truncate: bool) -> io::Result<u64> {
    let data = fs::read(path)?;
    let mut frames = Frames::new(&data);
    let mut undecodable = 0usize;
    for payload in frames.by_ref() {
        match Record::decode(payload) {
            Ok(rec) => state.apply(rec),
            Err(e) => {
                undecodable += 1;
                tracing::warn!(file = %path.display(), error = e.0, "skipping an undecodable log record");
            }
        }
    }
    let valid = frames.valid_len() as u64;
    if frames.is_torn() {
        tracing::warn!(
            file = %path.display(),
            valid_bytes = valid,
            dropped_bytes = data.len() as u64 - valid,
            "log segment ends in a torn record; cutting it off"
        );
        if truncate {
            let f = OpenOptions::new().write(true).open(path)?;
            f.set_len(valid)?;
            f.sync_all()?;
        }
    }
    let _ = undecodable;
    Ok(valid)
}

/// The result of opening a data directory.
pub(crate) struct Recovery {
    pub state: Recovered,
    pub snapshot: Option<u64>,
    pub snapshot_bytes: u64,
    /// Logs after the snapshot: (number, valid bytes).
    pub sealed: Vec<(u64, u64)>,
    pub next_segment: u64,
}

/// Reads a data directory: removes unfinished and superseded files, replays the newest
/// snapshot and the logs after it, and cuts off torn tails.
pub(crate) fn recover(dir: &Path) -> io::Result<Recovery> {
    fs::create_dir_all(dir)?;
    let listing = list(dir)?;
    for tmp in &listing.temps {
        fs::remove_file(tmp)?;
    }
    let snapshot = listing.snapshots.last().copied();
    let mut state = Recovered::default();
    let mut snapshot_bytes = 0;
    if let Some(s) = snapshot {
        for &old in listing.snapshots.iter().filter(|&&n| n < s) {
            fs::remove_file(snapshot_path(dir, old))?;
        }
        for &old in listing.logs.iter().filter(|&&n| n <= s) {
            fs::remove_file(log_path(dir, old))?;
        }
        snapshot_bytes = replay_file(&snapshot_path(dir, s), &mut state, false)?;
    }
    let mut sealed = Vec::new();
    for &n in listing
        .logs
        .iter()
        .filter(|&&n| snapshot.is_none_or(|s| n > s))
    {
        let valid = replay_file(&log_path(dir, n), &mut state, true)?;
        sealed.push((n, valid));
    }
    sync_dir(dir)?;
    let last = sealed.last().map(|s| s.0).or(snapshot).unwrap_or(0);
    Ok(Recovery {
        state,
        snapshot,
        snapshot_bytes,
        sealed,
        next_segment: last + 1,
    })
}
