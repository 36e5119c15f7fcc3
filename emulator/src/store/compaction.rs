//! Compaction: rewrites the snapshot plus sealed logs as the live set in a new snapshot, then
//! swaps it in with a rename and deletes what it replaces.
//!
//! Crash safety: the new snapshot is written to `*.tmp`, synced, renamed and the directory
//! synced before anything is deleted. A crash before the rename leaves a `.tmp` that recovery
//! deletes; after it, recovery prefers the newest snapshot and deletes the logs it covers.

use std::borrow::Cow;
use std::fs::{self, File};
use std::io::Write;
use std::path::Path;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::record::Record;
use super::recovery::{replay_file, Recovered, RecoveredEntity, RecoveredKind, RecoveredMessage};
use crate::entity::Sub;
use super::segment::{frame, log_path, snapshot_path, snapshot_tmp_path, sync_dir};

/// Compacts `snapshot` (if any) and `logs` (ascending, all sealed) into a snapshot numbered
/// after the last log. Returns the new snapshot's size in bytes.
pub(crate) fn compact(dir: &Path, snapshot: Option<u64>, logs: &[u64]) -> Result<u64, String> {
    let Some(&covers) = logs.last() else {
        return Err("nothing to compact".into());
    };
    let io = |what: &str, e: std::io::Error| format!("compaction: {what}: {e}");
    let mut state = Recovered::default();
    if let Some(s) = snapshot {
        replay_file(&snapshot_path(dir, s), &mut state, false)
            .map_err(|e| io("reading snapshot", e))?;
    }
    for &n in logs {
        replay_file(&log_path(dir, n), &mut state, false).map_err(|e| io("reading log", e))?;
    }
    let mut buf = Vec::new();
    write_state(&state, &mut buf);
    let tmp = snapshot_tmp_path(dir, covers);
    let mut file = File::create(&tmp).map_err(|e| io("creating snapshot", e))?;
    file.write_all(&buf)
        .and_then(|()| file.sync_all())
        .map_err(|e| io("writing snapshot", e))?;
    drop(file);
    fs::rename(&tmp, snapshot_path(dir, covers)).map_err(|e| io("renaming snapshot", e))?;
    sync_dir(dir).map_err(|e| io("syncing directory", e))?;
    if let Some(s) = snapshot {
        fs::remove_file(snapshot_path(dir, s)).map_err(|e| io("removing old snapshot", e))?;
    }
    for &n in logs {
        fs::remove_file(log_path(dir, n)).map_err(|e| io("removing compacted log", e))?;
    }
    sync_dir(dir).map_err(|e| io("syncing directory", e))?;
    tracing::debug!(covers, bytes = buf.len(), "log compacted");
    Ok(buf.len() as u64)
}

/// Writes `state` as records: definitions (topics and queues before subscriptions), sequence
/// counters, rule sets, messages, dead letters, deferrals and session states.
pub(crate) fn write_state(state: &Recovered, buf: &mut Vec<u8>) {
    let subscriptions_last = state
        .entities
        .iter()
        .filter(|(_, e)| !matches!(e.kind, RecoveredKind::Subscription { .. }))
        .chain(
            state
                .entities
                .iter()
                .filter(|(_, e)| matches!(e.kind, RecoveredKind::Subscription { .. })),
        );
    for (&id, e) in subscriptions_last {
        let rec = match &e.kind {
            RecoveredKind::Queue(options) => Record::CreateQueue {
                id,
                name: &e.name,
                options: options.clone(),
            },
            RecoveredKind::Topic(options) => Record::CreateTopic {
                id,
                name: &e.name,
                options: options.clone(),
            },
            RecoveredKind::Subscription { topic, options } => Record::CreateSubscription {
                id,
                topic: *topic,
                name: &e.name,
                options: options.clone(),
            },
        };
        frame(buf, &rec);
        if let Some((created_ms, updated_ms, accessed_ms)) = e.times {
            let times = Record::EntityTimes {
                entity: id,
                created_ms,
                updated_ms,
                accessed_ms,
            };
            frame(buf, &times);
        }
        if let Some(rules) = &e.rules {
            frame(buf, &Record::Rules { entity: id, rules });
        }
        if !matches!(e.kind, RecoveredKind::Subscription { .. }) {
            frame(
                buf,
                &Record::NextSequence {
                    entity: id,
                    next: e.next_seq,
                },
            );
        }
    }
    for (&id, e) in &state.entities {
        for (&seq, m) in &e.messages {
            enqueue(buf, id, seq, m);
            if m.deferred {
                frame(
                    buf,
                    &Record::Defer {
                        entity: id,
                        sub: Sub::Main,
                        seq,
                        body: None,
                    },
                );
            }
        }
        for (&seq, m) in &e.dead_letters {
            enqueue(buf, id, seq, m);
            let (reason, description) = m.dead_letter.clone().unwrap_or_default();
            frame(
                buf,
                &Record::DeadLetter {
                    entity: id,
                    seq,
                    reason: reason.as_deref(),
                    description: description.as_deref(),
                    body: None,
                },
            );
            if m.deferred {
                frame(
                    buf,
                    &Record::Defer {
                        entity: id,
                        sub: Sub::DeadLetter,
                        seq,
                        body: None,
                    },
                );
            }
        }
        write_later_state(buf, id, e);
        for (session, (state, updated_ms)) in &e.session_states {
            frame(
                buf,
                &Record::SessionState {
                    entity: id,
                    session,
                    state: Some(state),
                    updated_ms: *updated_ms,
                },
            );
        }
    }
}

/// What the later record kinds describe: forwarded dead letters' annotations, the transfer
/// dead-letter sub-queue, the status and the duplicate detection history still in its window.
fn write_later_state(buf: &mut Vec<u8>, id: u32, e: &RecoveredEntity) {
    for (&seq, m) in &e.messages {
        if let Some(source) = &m.dead_letter_source {
            let (reason, description) = m.dead_letter.clone().unwrap_or_default();
            frame(
                buf,
                &Record::ForwardedDeadLetter {
                    entity: id,
                    seq,
                    reason: reason.as_deref(),
                    description: description.as_deref(),
                    source,
                },
            );
        }
    }
    for (&seq, m) in &e.transfer_dead_letters {
        enqueue(buf, id, seq, m);
        let (reason, description) = m.dead_letter.clone().unwrap_or_default();
        frame(
            buf,
            &Record::TransferDeadLetter {
                entity: id,
                from: Sub::Main,
                seq,
                reason: reason.as_deref(),
                description: description.as_deref(),
            },
        );
    }
    if let Some(status) = e.status {
        frame(buf, &Record::SetStatus { entity: id, status });
    }
    let window = match &e.kind {
        RecoveredKind::Queue(o) => o.duplicate_detection_history_time_window,
        RecoveredKind::Topic(o) => o.duplicate_detection_history_time_window,
        RecoveredKind::Subscription { .. } => Duration::ZERO,
    };
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    let oldest = now_ms.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX));
    for (message_id, &(at_ms, seq)) in &e.seen {
        if at_ms >= oldest {
            frame(
                buf,
                &Record::Seen {
                    entity: id,
                    message_id,
                    at_ms,
                    seq,
                },
            );
        }
    }
}

fn enqueue(buf: &mut Vec<u8>, id: u32, seq: i64, m: &RecoveredMessage) {
    frame(
        buf,
        &Record::Enqueue {
            source: m.source,
            targets: Cow::Borrowed(&[id]),
            seq,
            enqueued_ms: m.enqueued_ms,
            ttl_ms: m.ttl_ms,
            scheduled_ms: m.scheduled_ms,
            session: m.session.as_deref(),
            body: &m.body,
        },
    );
}
