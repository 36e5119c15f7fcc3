//! Sending: `Sender` for a queue or a topic (fan-out by subscription rules: `fan_out`),
//! scheduling and cancelling scheduled messages.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use std::time::Duration;

use super::error::SESSION_ID_MISSING;
use super::forward::{forward, Outgoing};
use super::handle::EntityShared;
use super::message::StoredMessage;
use super::state::{expiry, instant_at, millis, EntityState, Sub};
use super::status::Operation;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityError, MessageState, NewMessage};
use crate::store::record::Record;
use crate::store::Commit;

impl EntityState {
    /// Checks the messages that stay here could be enqueued: session ids present where
    /// required, size within `limit`.
    pub(crate) fn check_send<'m>(
        &self,
        msgs: impl Iterator<Item = &'m NewMessage> + Clone,
        limit: u64,
    ) -> Result<(), EntityError> {
        if self.sessions.is_some() && msgs.clone().any(|m| m.session_id.is_none()) {
            return Err(EntityError::NotAllowed(SESSION_ID_MISSING.into()));
        }
        let extra: u64 = msgs.map(|m| m.body.len() as u64).sum();
        if self.size_bytes.saturating_add(extra) > limit {
            return Err(EntityError::QuotaExceeded {
                path: self.path.to_string(),
                size: self.size_bytes,
                max: limit,
            });
        }
        Ok(())
    }

    /// Takes messages sent (or forwarded) to this queue: drops duplicates, enqueues what
    /// stays, and hands back what a forwarding queue sends on. `on_seq` hears each message's
    /// sequence number in order (`None`: forwarded; the forward gives it one).
    pub fn accept(
        &mut self,
        msgs: &[NewMessage],
        carried: Option<&Arc<DeadLetterInfo>>,
        hops: u8,
        now: Instant,
        wall: SystemTime,
        mut on_seq: impl FnMut(Option<i64>),
    ) -> Result<Vec<Outgoing>, EntityError> {
        self.journal.check()?;
        let forwarding = self.options.forward_to.is_some();
        let stays = |m: &&NewMessage| !forwarding || is_scheduled(m, wall);
        self.check_send(msgs.iter().filter(stays), self.options.max_size_bytes)?;
        self.touch(wall);
        let mut outgoing = Vec::new();
        for m in msgs {
            if let Some(seq) = self.duplicate_of(m, now) {
                on_seq(Some(seq));
                continue;
            }
            if !stays(&m) {
                self.remember(m, now, wall, 0);
                outgoing.push(Outgoing {
                    seq: None,
                    recorded: None,
                    dead_letters: false,
                    msg: m.clone(),
                    carried: carried.cloned(),
                    hops,
                });
                on_seq(None);
                continue;
            }
            let seq = self.next_seq;
            self.next_seq += 1;
            let ids = [self.journal.id];
            self.journal
                .log(|id| enqueue_record(id, &ids, seq, m, wall));
            self.enqueue(seq, m, carried, Duration::MAX, now, wall);
            self.remember(m, now, wall, seq);
            on_seq(Some(seq));
        }
        Ok(outgoing)
    }

    /// The number of the kept message if `m` is a duplicate.
    fn duplicate_of(&mut self, m: &NewMessage, now: Instant) -> Option<i64> {
        let id = m.message_id.as_deref()?;
        self.dedup.as_mut()?.duplicate_of(id, now)
    }

    /// Adds `m`'s id to the duplicate detection history (and the log).
    fn remember(&mut self, m: &NewMessage, now: Instant, wall: SystemTime, seq: i64) {
        let (Some(dedup), Some(id)) = (self.dedup.as_mut(), m.message_id.as_deref()) else {
            return;
        };
        dedup.remember(id, now, seq);
        self.journal.log(|entity| Record::Seen {
            entity,
            message_id: id,
            at_ms: millis(wall),
            seq,
        });
    }

    /// Adds a message with sequence number `seq` (no log record for the message itself: the
    /// sender logs it; a carried dead-letter annotation is logged here). Its time to live is
    /// capped by the entity's default and by `ttl_cap` (a topic's default).
    pub fn enqueue(
        &mut self,
        seq: i64,
        m: &NewMessage,
        carried: Option<&Arc<DeadLetterInfo>>,
        ttl_cap: Duration,
        now: Instant,
        wall: SystemTime,
    ) {
        let scheduled = m.scheduled_enqueue_time.filter(|t| *t > wall);
        let base = scheduled.unwrap_or(wall);
        let session = match (&mut self.sessions, m.session_id.as_deref()) {
            (Some(s), Some(id)) => Some(s.key(id)),
            _ => None,
        };
        if let Some(info) = carried {
            self.journal.log(|entity| Record::ForwardedDeadLetter {
                entity,
                seq,
                reason: info.reason.as_deref(),
                description: info.description.as_deref(),
                source: info.source.as_deref().unwrap_or_default(),
            });
        }
        let msg = StoredMessage {
            body: m.body.clone(),
            session,
            ttl: m.time_to_live,
            enqueued: wall,
            expires: expiry(
                base,
                m.time_to_live,
                self.options.default_message_time_to_live.min(ttl_cap),
                now,
                wall,
            ),
            scheduled,
            activate_at: scheduled.map(|t| instant_at(t, now, wall)),
            state: if scheduled.is_some() {
                MessageState::Scheduled
            } else {
                MessageState::Active
            },
            delivery_count: 0,
            lock: None,
            dead_letter: carried.cloned(),
            queued: false,
        };
        self.insert(Sub::Main, seq, msg);
    }

    /// Cancels scheduled messages (sequence numbers that are not scheduled here are ignored).
    fn cancel_scheduled(&mut self, seqs: &[i64]) {
        for &seq in seqs {
            let scheduled = self
                .main
                .messages
                .get(&seq)
                .is_some_and(|m| m.state == MessageState::Scheduled);
            if scheduled {
                self.remove_logged(Sub::Main, seq);
            }
        }
    }
}

/// Whether `m` is scheduled for later than `wall`.
pub(crate) fn is_scheduled(m: &NewMessage, wall: SystemTime) -> bool {
    m.scheduled_enqueue_time.is_some_and(|t| t > wall)
}

pub(crate) fn enqueue_record<'a>(
    source: u32,
    targets: &'a [u32],
    seq: i64,
    m: &'a NewMessage,
    wall: SystemTime,
) -> Record<'a> {
    Record::Enqueue {
        source,
        targets: Cow::Borrowed(targets),
        seq,
        enqueued_ms: millis(wall),
        ttl_ms: m
            .time_to_live
            .map(|t| i64::try_from(t.as_millis()).unwrap_or(i64::MAX)),
        scheduled_ms: m.scheduled_enqueue_time.filter(|t| *t > wall).map(millis),
        session: m.session_id.as_deref(),
        body: &m.body,
    }
}

#[derive(Clone)]
enum Target {
    Queue(Arc<EntityShared>),
    Topic(Arc<TopicShared>),
}

/// Sends to a queue or a topic. Cheap to clone; resolve it once (per link) with
/// [`Namespace::sender`](super::Namespace::sender).
#[derive(Clone)]
pub struct Sender {
    target: Target,
}

impl Sender {
    pub(crate) fn queue(shared: Arc<EntityShared>) -> Self {
        Self {
            target: Target::Queue(shared),
        }
    }

    pub(crate) fn topic(shared: Arc<TopicShared>) -> Self {
        Self {
            target: Target::Topic(shared),
        }
    }

    /// The queue's or topic's path.
    pub fn path(&self) -> &str {
        match &self.target {
            Target::Queue(q) => &q.path,
            Target::Topic(t) => &t.name,
        }
    }

    /// Enqueues one message and returns its sequence number and a [`Commit`] to await before
    /// acknowledging the send (durable namespaces). A message whose scheduled enqueue time is
    /// in the future is scheduled. A topic copies it to every subscription (none: accepted and
    /// dropped, as Service Bus does).
    pub fn enqueue(&self, msg: &NewMessage) -> Result<(i64, Commit), EntityError> {
        let mut seq = 0;
        let commit = self.enqueue_all(std::slice::from_ref(msg), |s| seq = s)?;
        Ok((seq, commit))
    }

    /// Enqueues a batch all-or-nothing under one lock and one log write.
    pub fn enqueue_batch(&self, msgs: &[NewMessage]) -> Result<(Vec<i64>, Commit), EntityError> {
        let mut seqs = Vec::with_capacity(msgs.len());
        let commit = self.enqueue_all(msgs, |s| seqs.push(s))?;
        Ok((seqs, commit))
    }

    /// Enqueues one message and waits until it is durable.
    pub async fn send(&self, msg: &NewMessage) -> Result<i64, EntityError> {
        let (seq, commit) = self.enqueue(msg)?;
        commit.wait().await?;
        Ok(seq)
    }

    /// Enqueues a batch and waits until it is durable.
    pub async fn send_batch(&self, msgs: &[NewMessage]) -> Result<Vec<i64>, EntityError> {
        let (seqs, commit) = self.enqueue_batch(msgs)?;
        commit.wait().await?;
        Ok(seqs)
    }

    /// Cancels scheduled messages by sequence number (unknown or no longer scheduled numbers
    /// are ignored). On a topic it cancels the copies in every subscription.
    pub fn cancel_scheduled(&self, seqs: &[i64]) -> Result<Commit, EntityError> {
        match &self.target {
            Target::Queue(q) => {
                q.lifecycle.check(Operation::Send, &q.path)?;
                q.with_any(|st, _, _| {
                    st.journal.check()?;
                    st.cancel_scheduled(seqs);
                    Ok(st.journal.commit())
                })
            }
            Target::Topic(t) => {
                t.lifecycle.check(Operation::Send, &t.name)?;
                t.lifecycle.touch();
                let mut commit = Commit::ready();
                for sub in t.live_subscriptions()? {
                    let c = sub.with_quiet(|st, _, _| {
                        st.journal.check()?;
                        st.cancel_scheduled(seqs);
                        Ok(st.journal.commit())
                    });
                    match c {
                        Ok(c) => commit = commit.and(c),
                        Err(EntityError::NotFound { .. }) => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(commit)
            }
        }
    }

    fn enqueue_all(
        &self,
        msgs: &[NewMessage],
        mut on_seq: impl FnMut(i64),
    ) -> Result<Commit, EntityError> {
        match &self.target {
            Target::Queue(q) => {
                q.lifecycle.check(Operation::Send, &q.path)?;
                if q.options.forward_to.is_none() {
                    return q.with_any(|st, now, wall| {
                        st.accept(msgs, None, 0, now, wall, |s| on_seq(s.unwrap_or(0)))?;
                        Ok(st.journal.commit())
                    });
                }
                let mut seqs = Vec::with_capacity(msgs.len());
                let (outgoing, mut commit) = q.with_any(|st, now, wall| {
                    let outgoing = st.accept(msgs, None, 0, now, wall, |s| seqs.push(s))?;
                    Ok((outgoing, st.journal.commit()))
                })?;
                let mut outgoing = outgoing.into_iter();
                for seq in seqs {
                    let seq = match seq {
                        Some(seq) => seq,
                        None => match outgoing.next() {
                            Some(out) => {
                                let (seq, c) = forward(q, out);
                                commit = commit.and(c);
                                seq.unwrap_or(0)
                            }
                            None => 0,
                        },
                    };
                    on_seq(seq);
                }
                Ok(commit)
            }
            Target::Topic(t) => {
                let (seqs, commit) = t.publish(msgs, None, 0)?;
                seqs.into_iter().for_each(on_seq);
                Ok(commit)
            }
        }
    }
}
