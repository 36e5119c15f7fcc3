//! An entity's state under its mutex: messages, ready queues, locks, timers, sessions, and the
//! bookkeeping every move between them needs.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::Instant;

use super::activation::Numbering;
use super::dedup::Dedup;
use super::forward::Outgoing;
use super::journal::Journal;
use super::message::{Expiry, StoredMessage, MAX_DELIVERY_COUNT_EXCEEDED, TTL_EXPIRED};
use super::ready::{ReadyQueue, Waiters};
use super::runtime::EntityTimes;
use super::sessions::Sessions;
use super::token::TokenHash;
use super::{DeadLetterInfo, EntityOptions, LockToken, MessageState};
use crate::filter::RuleSet;
use crate::store::record::Record;

/// Which sub-queue of an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sub {
    Main,
    DeadLetter,
    /// `$Transfer/$DeadLetterQueue`: messages that could not be forwarded.
    TransferDeadLetter,
}

impl Sub {
    /// The code records use (0 and 1 match the older `dlq` flag).
    pub fn code(self) -> u8 {
        match self {
            Sub::Main => 0,
            Sub::DeadLetter => 1,
            Sub::TransferDeadLetter => 2,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Sub::Main,
            1 => Sub::DeadLetter,
            2 => Sub::TransferDeadLetter,
            _ => return None,
        })
    }
}

/// Messages of one sub-queue and their indexes.
#[derive(Default)]
pub(crate) struct SubQueue {
    pub messages: BTreeMap<i64, StoredMessage>,
    /// Available messages (non-session ones; session messages wait in their session).
    pub ready: ReadyQueue,
    pub locks: HashMap<LockToken, i64, TokenHash>,
    /// Lock expiries of non-session locks.
    pub lock_deadlines: BTreeSet<(Instant, i64)>,
    pub waiters: Waiters,
}

/// Everything behind an entity's mutex.
pub(crate) struct EntityState {
    pub options: EntityOptions,
    pub path: Arc<str>,
    pub deleted: bool,
    /// Next sequence number (queues; subscriptions take their topic's).
    pub next_seq: i64,
    pub main: SubQueue,
    pub dlq: SubQueue,
    pub tdlq: SubQueue,
    /// Duplicate detection history (queues that require it).
    pub dedup: Option<Dedup>,
    /// Messages leaving by auto-forwarding, sent on once the lock is released.
    pub outbox: Vec<Outgoing>,
    /// Present on entities that require sessions.
    pub sessions: Option<Sessions>,
    pub scheduled: BTreeSet<(Instant, i64)>,
    pub ttl: BTreeSet<(Instant, i64)>,
    pub size_bytes: u64,
    /// The deadline the namespace timer holds for this entity.
    pub armed: Option<Instant>,
    pub journal: Journal,
    /// Created / updated / accessed (see `runtime`).
    pub times: EntityTimes,
    /// A subscription's scheduled copies belong to its topic (peek leaves them out).
    pub scheduled_at_topic: bool,
    /// Where activated scheduled messages take their new sequence number from.
    pub numbering: Numbering,
    /// A subscription's rules (`$Default` alone until changed; unused on queues).
    pub rules: RuleSet,
}

/// An instant far enough ahead to mean "never" without overflowing.
pub(crate) fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(100 * 365 * 86_400)
}

/// The timer instant matching wall-clock time `at`.
pub(crate) fn instant_at(at: SystemTime, now: Instant, wall: SystemTime) -> Instant {
    let ahead = at.duration_since(wall).unwrap_or(Duration::ZERO);
    now.checked_add(ahead)
        .unwrap_or_else(|| far_future(now))
        .min(far_future(now))
}

/// When a message enqueued (or activated) at `base` expires, if ever.
pub(crate) fn expiry(
    base: SystemTime,
    ttl: Option<Duration>,
    default: Duration,
    now: Instant,
    wall: SystemTime,
) -> Option<Expiry> {
    let ttl = ttl.map_or(default, |t| t.min(default));
    let at = base.checked_add(ttl)?;
    let ahead = at.duration_since(wall).unwrap_or(Duration::ZERO);
    let deadline = now.checked_add(ahead)?;
    Some(Expiry { at, deadline })
}

pub(crate) fn millis(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    let d = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        SystemTime::UNIX_EPOCH + d
    } else {
        SystemTime::UNIX_EPOCH - d
    }
}

impl EntityState {
    pub fn new(options: EntityOptions, path: Arc<str>, journal: Journal) -> Self {
        let sessions = options.requires_session.then(Sessions::default);
        let dedup = options
            .requires_duplicate_detection
            .then(|| Dedup::new(options.duplicate_detection_history_time_window));
        Self {
            options,
            path,
            deleted: false,
            next_seq: 1,
            main: SubQueue::default(),
            dlq: SubQueue::default(),
            tdlq: SubQueue::default(),
            dedup,
            outbox: Vec::new(),
            sessions,
            scheduled: BTreeSet::new(),
            ttl: BTreeSet::new(),
            size_bytes: 0,
            armed: None,
            journal,
            times: EntityTimes::new(SystemTime::now()),
            scheduled_at_topic: false,
            numbering: Numbering::Own,
            rules: RuleSet::default(),
        }
    }

    pub fn sub(&mut self, sub: Sub) -> &mut SubQueue {
        match sub {
            Sub::Main => &mut self.main,
            Sub::DeadLetter => &mut self.dlq,
            Sub::TransferDeadLetter => &mut self.tdlq,
        }
    }

    /// Adds a message with its indexes; an active one becomes available.
    pub fn insert(&mut self, sub: Sub, seq: i64, mut msg: StoredMessage) {
        self.size_bytes += msg.body.len() as u64;
        if sub == Sub::Main {
            if let Some(e) = msg.expires {
                self.ttl.insert((e.deadline, seq));
            }
            if let Some(at) = msg.activate_at {
                self.scheduled.insert((at, seq));
            }
            if let (Some(sessions), Some(id)) = (&mut self.sessions, &msg.session) {
                msg.session = Some(sessions.count_message(id));
            }
        }
        let available = msg.is_available();
        let session = msg.session.clone();
        msg.queued = false;
        self.sub(sub).messages.insert(seq, msg);
        if available {
            self.make_available(sub, seq, session.as_ref());
        }
    }

    /// Puts an available message where receivers find it and wakes them.
    pub fn make_available(&mut self, sub: Sub, seq: i64, session: Option<&Arc<str>>) {
        if let Some(m) = self.sub(sub).messages.get_mut(&seq) {
            m.queued = true;
        }
        match (sub, &mut self.sessions, session) {
            (Sub::Main, Some(sessions), Some(id)) => sessions.message_available(id, seq),
            _ => {
                let q = self.sub(sub);
                q.ready.push(seq);
                q.waiters.wake_all();
            }
        }
    }

    /// Removes a message and every index entry it has (no log record).
    pub fn remove(&mut self, sub: Sub, seq: i64) -> Option<StoredMessage> {
        let q = self.sub(sub);
        let msg = q.messages.remove(&seq)?;
        if let Some(lock) = msg.lock {
            q.locks.remove(&lock.token);
            q.lock_deadlines.remove(&(lock.deadline, seq));
        }
        let available = msg.queued;
        self.size_bytes = self.size_bytes.saturating_sub(msg.body.len() as u64);
        if sub == Sub::Main {
            if let Some(e) = msg.expires {
                self.ttl.remove(&(e.deadline, seq));
            }
            if let Some(at) = msg.activate_at {
                self.scheduled.remove(&(at, seq));
            }
        }
        match (sub, &mut self.sessions, &msg.session) {
            (Sub::Main, Some(sessions), Some(id)) => {
                sessions.message_removed(id, seq, available, msg.lock.is_some())
            }
            _ if available => self.sub(sub).ready.forget_one(),
            _ => {}
        }
        Some(msg)
    }

    /// Replaces a message's bytes (modified properties), logging the change.
    pub fn replace_body(&mut self, sub: Sub, seq: i64, body: Bytes) {
        let Some(msg) = self.sub(sub).messages.get_mut(&seq) else {
            return;
        };
        let old_len = msg.body.len() as u64;
        msg.body = body.clone();
        let session = msg.session.clone();
        self.size_bytes = self.size_bytes.saturating_sub(old_len) + body.len() as u64;
        self.journal.log(|entity| Record::ReplaceBody {
            entity,
            sub,
            seq,
            body: &body,
        });
        self.logged_for(sub, session.as_deref());
    }

    /// Raises the gate of `session` (a main-queue message's) to the entity's last record.
    pub fn logged_for(&mut self, sub: Sub, session: Option<&str>) {
        let lsn = self.journal.lsn();
        if let (Sub::Main, Some(sessions), Some(id)) = (sub, &mut self.sessions, session) {
            sessions.raise_gate(id, lsn);
        }
    }

    /// Drops a message's lock. `counted` adds a delivery attempt (abandon, lock expiry); a
    /// main-queue message that runs out of attempts is dead-lettered, an expired one expires,
    /// an active one becomes available again.
    pub fn unlock(&mut self, sub: Sub, seq: i64, counted: bool, now: Instant) {
        let q = self.sub(sub);
        let Some(msg) = q.messages.get_mut(&seq) else {
            return;
        };
        let Some(lock) = msg.lock.take() else {
            return;
        };
        q.locks.remove(&lock.token);
        q.lock_deadlines.remove(&(lock.deadline, seq));
        if counted {
            msg.delivery_count = msg.delivery_count.saturating_add(1);
        }
        let count = msg.delivery_count;
        let expired = msg.expires.is_some_and(|e| e.deadline <= now);
        let active = msg.state == MessageState::Active;
        let session = msg.session.clone();
        if let (Sub::Main, Some(sessions), Some(id)) = (sub, &mut self.sessions, &session) {
            sessions.message_unlocked(id, seq);
        }
        if sub == Sub::Main && counted && count >= self.options.max_delivery_count {
            let info = DeadLetterInfo {
                reason: Some(MAX_DELIVERY_COUNT_EXCEEDED.to_owned()),
                description: Some(format!(
                    "Message could not be consumed after {} delivery attempts.",
                    self.options.max_delivery_count
                )),
                source: None,
            };
            self.dead_letter(seq, info, None);
        } else if sub == Sub::Main && expired {
            self.expire(seq);
        } else if active {
            self.make_available(sub, seq, session.as_ref());
        }
    }

    /// Moves a main-queue message to the dead-letter sub-queue, logging it; with
    /// `forward_dead_lettered_messages_to` it leaves by the outbox instead, marked with this
    /// entity as its dead-letter source (the log keeps it dead-lettered until it is forwarded).
    pub fn dead_letter(&mut self, seq: i64, mut info: DeadLetterInfo, body: Option<Bytes>) {
        let Some(mut msg) = self.remove(Sub::Main, seq) else {
            return;
        };
        self.journal.log(|entity| Record::DeadLetter {
            entity,
            seq,
            reason: info.reason.as_deref(),
            description: info.description.as_deref(),
            body: body.as_deref(),
        });
        self.logged_for(Sub::Main, msg.session.as_deref());
        if let Some(b) = body {
            msg.body = b;
        }
        msg.state = MessageState::Active;
        msg.lock = None;
        msg.activate_at = None;
        if self.options.forward_dead_lettered_messages_to.is_some() {
            info.source = Some(self.path.to_string());
            msg.dead_letter = Some(Arc::new(info));
            self.outbox
                .push(Outgoing::from_stored(seq, Sub::DeadLetter, true, msg));
            return;
        }
        msg.dead_letter = Some(Arc::new(info));
        self.insert(Sub::DeadLetter, seq, msg);
    }

    /// Removes an expired message, or dead-letters it if the entity says so.
    pub fn expire(&mut self, seq: i64) {
        if self.options.dead_lettering_on_message_expiration {
            let info = DeadLetterInfo {
                reason: Some(TTL_EXPIRED.to_owned()),
                description: Some("The message expired and was dead lettered.".to_owned()),
                source: None,
            };
            self.dead_letter(seq, info, None);
        } else if let Some(msg) = self.remove(Sub::Main, seq) {
            self.journal.log(|entity| Record::Remove {
                entity,
                sub: Sub::Main,
                seq,
            });
            self.logged_for(Sub::Main, msg.session.as_deref());
        }
    }

    /// Removes a message and logs the removal.
    pub fn remove_logged(&mut self, sub: Sub, seq: i64) -> Option<StoredMessage> {
        let msg = self.remove(sub, seq)?;
        self.journal
            .log(|entity| Record::Remove { entity, sub, seq });
        self.logged_for(sub, msg.session.as_deref());
        Some(msg)
    }

    /// Wakes every waiter (used when the entity is deleted).
    pub fn wake_everyone(&mut self) {
        self.main.waiters.wake_all();
        self.dlq.waiters.wake_all();
        self.tdlq.waiters.wake_all();
        if let Some(s) = &mut self.sessions {
            s.wake_everyone();
        }
    }
}
