//! Publishing to a topic: duplicate detection at the topic, then a copy for every
//! subscription that takes it, under all subscription locks so that the one log record
//! precedes any settlement of a copy. Forwarding subscriptions' copies are sent on after the
//! locks are released.
//!
//! Chosen where the documentation is silent: a subscription whose status is Disabled or
//! SendDisabled takes no copy (the topic still accepts the message).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use super::forward::{forward, Outgoing};
use super::handle::EntityShared;
use super::send::{enqueue_record, is_scheduled};
use super::state::millis;
use super::status::Operation;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityError, NewMessage};
use crate::store::record::Record;
use crate::store::Commit;

type Forwards = Vec<(Arc<EntityShared>, Outgoing)>;

impl TopicShared {
    /// Sends `msgs` to the topic: each gets the topic's next sequence number (a duplicate gets
    /// the kept message's) and a copy goes to every subscription.
    pub(crate) fn publish(
        &self,
        msgs: &[NewMessage],
        carried: Option<&Arc<DeadLetterInfo>>,
        hops: u8,
    ) -> Result<(Vec<i64>, Commit), EntityError> {
        self.lifecycle.check(Operation::Send, &self.name)?;
        self.lifecycle.touch();
        let (seqs, mut commit, forwards) = self.fan_out(msgs, carried, hops)?;
        for (sub, out) in forwards {
            let (_, c) = forward(&sub, out);
            commit = commit.and(c);
        }
        Ok((seqs, commit))
    }

    fn fan_out(
        &self,
        msgs: &[NewMessage],
        carried: Option<&Arc<DeadLetterInfo>>,
        hops: u8,
    ) -> Result<(Vec<i64>, Commit, Forwards), EntityError> {
        let subs = self.live_subscriptions()?;
        let mut dedup = self.dedup.lock().unwrap_or_else(|e| e.into_inner());
        let mut guards: Vec<_> = subs
            .iter()
            .filter(|s| s.lifecycle.status().can_send())
            .map(|s| (s, s.lock()))
            .filter(|(_, g)| !g.deleted)
            .collect();
        if let Some(store) = &self.store {
            store.healthy()?;
        }
        let wall = SystemTime::now();
        let now = Instant::now();
        let limit = |s: &EntityShared| s.options.max_size_bytes.min(self.options.max_size_bytes);
        for (s, g) in &guards {
            let forwarding = s.options.forward_to.is_some();
            let staying = msgs.iter().filter(|m| !forwarding || is_scheduled(m, wall));
            g.check_send(staying, limit(s))?;
        }
        self.touch(wall);
        let ttl_cap = self.options.default_message_time_to_live;
        let mut seqs = Vec::with_capacity(msgs.len());
        let mut forwards = Vec::new();
        let mut lsn = None;
        for m in msgs {
            let id = m.message_id.as_deref();
            if let Some(seq) = id.and_then(|id| dedup.as_mut()?.duplicate_of(id, now)) {
                seqs.push(seq);
                continue;
            }
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            let scheduled = is_scheduled(m, wall);
            let stays = |s: &EntityShared| s.options.forward_to.is_none() || scheduled;
            let targets: Vec<u32> = guards
                .iter()
                .filter(|(s, _)| stays(s))
                .map(|(_, g)| g.journal.id)
                .collect();
            if let Some(store) = &self.store {
                lsn = Some(store.append(&enqueue_record(self.id, &targets, seq, m, wall)));
            }
            for (s, g) in guards.iter_mut() {
                if stays(s) {
                    g.enqueue(seq, m, carried, ttl_cap, now, wall);
                    lsn = lsn.max(Some(g.journal.lsn()));
                } else {
                    forwards.push((
                        Arc::clone(s),
                        Outgoing {
                            seq: Some(seq),
                            recorded: None,
                            dead_letters: false,
                            msg: m.clone(),
                            carried: carried.cloned(),
                            hops,
                        },
                    ));
                }
            }
            if let (Some(d), Some(id)) = (dedup.as_mut(), id) {
                d.remember(id, now, seq);
                if let Some(store) = &self.store {
                    lsn = Some(store.append(&Record::Seen {
                        entity: self.id,
                        message_id: id,
                        at_ms: millis(wall),
                        seq,
                    }));
                }
            }
            seqs.push(seq);
        }
        for (shared, g) in guards.iter_mut() {
            shared.rearm(g);
        }
        let commit = match (&self.store, lsn) {
            (Some(store), Some(lsn)) if lsn > 0 => store.commit(lsn),
            _ => Commit::ready(),
        };
        Ok((seqs, commit, forwards))
    }
}
