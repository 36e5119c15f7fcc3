//! Sending: `Sender` for a queue or a topic (fan-out by subscription rules: `fan_out`),
//! scheduling and cancelling scheduled messages.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use super::error::SESSION_ID_MISSING;
use super::handle::EntityShared;
use super::message::StoredMessage;
use super::state::{expiry, instant_at, millis, EntityState, Sub};
use super::topic::TopicShared;
use super::{EntityError, MessageState, NewMessage};
use crate::store::record::Record;
use crate::store::Commit;

impl EntityState {
    /// Checks a batch could be enqueued: session ids present where required, size within quota.
    pub(super) fn check_send<'m, I>(&self, msgs: I) -> Result<(), EntityError>
    where
        I: IntoIterator<Item = &'m NewMessage>,
        I::IntoIter: Clone,
    {
        let msgs = msgs.into_iter();
        if self.sessions.is_some() && msgs.clone().any(|m| m.session_id.is_none()) {
            return Err(EntityError::NotAllowed(SESSION_ID_MISSING.into()));
        }
        let extra: u64 = msgs.map(|m| m.body.len() as u64).sum();
        if self.size_bytes.saturating_add(extra) > self.options.max_size_bytes {
            return Err(EntityError::QuotaExceeded {
                path: self.path.to_string(),
                size: self.size_bytes,
                max: self.options.max_size_bytes,
            });
        }
        Ok(())
    }

    /// Adds a message with sequence number `seq` (no log record: the sender logs it).
    pub fn enqueue(&mut self, seq: i64, m: &NewMessage, now: Instant, wall: SystemTime) {
        let scheduled = m.scheduled_enqueue_time.filter(|t| *t > wall);
        let base = scheduled.unwrap_or(wall);
        let session = match (&mut self.sessions, m.session_id.as_deref()) {
            (Some(s), Some(id)) => Some(s.key(id)),
            _ => None,
        };
        let msg = StoredMessage {
            body: m.body.clone(),
            session,
            enqueued: wall,
            expires: expiry(
                base,
                m.time_to_live,
                self.options.default_message_time_to_live,
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
            dead_letter: None,
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

pub(super) fn enqueue_record<'a>(
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
            Target::Queue(q) => q.with(|st, _, _| {
                st.journal.check()?;
                st.cancel_scheduled(seqs);
                Ok(st.journal.commit())
            }),
            Target::Topic(t) => {
                let mut commit = Commit::ready();
                for sub in t.live_subscriptions()? {
                    let c = sub.with(|st, _, _| {
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
        on_seq: impl FnMut(i64),
    ) -> Result<Commit, EntityError> {
        match &self.target {
            Target::Queue(q) => q.with(|st, now, wall| {
                st.journal.check()?;
                st.check_send(msgs)?;
                let mut on_seq = on_seq;
                let ids = [st.journal.id];
                for m in msgs {
                    let seq = st.next_seq;
                    st.next_seq += 1;
                    st.journal.log(|id| enqueue_record(id, &ids, seq, m, wall));
                    st.enqueue(seq, m, now, wall);
                    on_seq(seq);
                }
                Ok(st.journal.commit())
            }),
            Target::Topic(t) => t.fan_out(msgs, on_seq),
        }
    }
}
