//! A topic's fan-out: duplicate detection at the topic, then each message goes to the
//! subscriptions whose status lets them take it and whose rules admit it.
//!
//! The message's properties are decoded once per message, and only when some subscription
//! has a rule that reads them (a topic whose subscriptions all have `$Default` never decodes).
//! A subscription gets one copy when a rule without an action matches, and one more copy per
//! matching rule with an action (see [`crate::filter::Rule`]); the first copy keeps the
//! message's sequence number, further copies draw new numbers from the topic. A duplicate (by
//! message id, if the topic detects duplicates) gets the kept message's number and no copy.
//!
//! Every copy's time to live is capped by the topic's default; session and quota checks (the
//! quota: the smaller of the subscription's and the topic's size) apply only to what a
//! subscription keeps. A subscription with `forward_to` keeps only scheduled copies (they move
//! on once due); the others are handed back to be forwarded once the locks are released.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::SystemTime;

use tokio::time::Instant;

use super::forward::Outgoing;
use super::handle::EntityShared;
use super::send::{enqueue_record, is_scheduled};
use super::state::millis;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityError, NewMessage};
use crate::filter::{decode_view, encode_changes, MessageView, Rule, Value, RULE_NAME_PROPERTY};
use crate::store::record::Record;
use crate::store::Commit;

/// Subscription copies to forward once the locks are released.
pub(super) type Forwards = Vec<(Arc<EntityShared>, Outgoing)>;

/// One message (as sent, or as an action changed it) for one subscription.
struct Delivery {
    /// Index of the message in the batch.
    message: usize,
    /// Index of the subscription in the locked list.
    subscription: usize,
    seq: i64,
    /// `None`: the message as sent; `Some`: the copy an action changed.
    changed: Option<NewMessage>,
    /// Kept by the subscription (else forwarded).
    stays: bool,
}

impl Delivery {
    fn message_in<'m>(&'m self, msgs: &'m [NewMessage]) -> &'m NewMessage {
        self.changed.as_ref().unwrap_or(&msgs[self.message])
    }
}

impl TopicShared {
    /// Copies each message to the subscriptions that take it, all subscription locks held so
    /// that the log records precede any settlement of a copy. Returns each message's sequence
    /// number, the commit and the copies to forward.
    pub(super) fn fan_out(
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
        let now = Instant::now();
        let wall = SystemTime::now();
        let needs_view = guards.iter().any(|(_, g)| g.rules.needs_view());
        let mut seqs = Vec::with_capacity(msgs.len());
        // Per message: kept (its own number) or a duplicate (the kept message's).
        let mut kept = Vec::with_capacity(msgs.len());
        let mut batch_ids: HashMap<&str, i64> = HashMap::new();
        let mut copies = Vec::with_capacity(msgs.len() * guards.len());
        for (index, m) in msgs.iter().enumerate() {
            let id = m.message_id.as_deref();
            let earlier = id.and_then(|id| {
                let d = dedup.as_mut()?;
                batch_ids
                    .get(id)
                    .copied()
                    .or_else(|| d.duplicate_of(id, now))
            });
            if let Some(seq) = earlier {
                seqs.push(seq);
                kept.push(false);
                continue;
            }
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            if let (Some(_), Some(id)) = (dedup.as_ref(), id) {
                batch_ids.insert(id, seq);
            }
            seqs.push(seq);
            kept.push(true);
            let view = needs_view.then(|| view_of(m, seq, wall)).flatten();
            for (subscription, (_, g)) in guards.iter().enumerate() {
                let admission = g.rules.admit(view.as_ref());
                let mut seq_taken = admission.plain;
                if admission.plain {
                    copies.push(Delivery {
                        message: index,
                        subscription,
                        seq,
                        changed: None,
                        stays: true,
                    });
                }
                for rule in admission.actions {
                    let Some(changed) = view.as_ref().and_then(|v| acted_on(m, v, rule)) else {
                        continue;
                    };
                    let copy_seq = if seq_taken {
                        self.next_seq.fetch_add(1, Ordering::Relaxed)
                    } else {
                        seq_taken = true;
                        seq
                    };
                    copies.push(Delivery {
                        message: index,
                        subscription,
                        seq: copy_seq,
                        changed: Some(changed),
                        stays: true,
                    });
                }
            }
        }
        // What each subscription keeps (a forwarding one keeps only scheduled copies).
        for c in &mut copies {
            c.stays = guards[c.subscription].0.options.forward_to.is_none()
                || is_scheduled(c.message_in(msgs), wall);
        }
        let mut per_subscription = vec![Vec::new(); guards.len()];
        for c in copies.iter().filter(|c| c.stays) {
            per_subscription[c.subscription].push(c.message_in(msgs));
        }
        for ((s, g), mine) in guards.iter().zip(&per_subscription) {
            let limit = s.options.max_size_bytes.min(self.options.max_size_bytes);
            g.check_send(mine.iter().copied(), limit)?;
        }
        drop(per_subscription);
        self.touch(wall);
        let ttl_cap = self.options.default_message_time_to_live;
        let mut forwards = Vec::new();
        let mut lsn = None;
        // `copies` is in message order: each message's deliveries are a run of it.
        let mut rest = copies.as_slice();
        for (index, m) in msgs.iter().enumerate() {
            if !kept[index] {
                continue;
            }
            let run = rest.iter().take_while(|c| c.message == index).count();
            let (mine, tail) = rest.split_at(run);
            rest = tail;
            if let Some(store) = &self.store {
                // Every kept message is logged, admitted or not: recovery takes the topic's
                // next sequence number from it. An action's copy is logged on its own, also
                // when it is forwarded (for its number).
                let targets: Vec<u32> = mine
                    .iter()
                    .filter(|c| c.changed.is_none() && c.stays)
                    .map(|c| guards[c.subscription].1.journal.id)
                    .collect();
                lsn = Some(store.append(&enqueue_record(self.id, &targets, seqs[index], m, wall)));
                for c in mine {
                    if let Some(changed) = &c.changed {
                        let target = [guards[c.subscription].1.journal.id];
                        let target: &[u32] = if c.stays { &target } else { &[] };
                        lsn = Some(store.append(&enqueue_record(self.id, target, c.seq, changed, wall)));
                    }
                }
            }
            for c in mine {
                let (s, g) = &mut guards[c.subscription];
                if c.stays {
                    g.enqueue(c.seq, c.message_in(msgs), carried, ttl_cap, now, wall);
                    lsn = lsn.max(Some(g.journal.lsn()));
                } else {
                    forwards.push((
                        Arc::clone(s),
                        Outgoing {
                            seq: Some(c.seq),
                            recorded: None,
                            dead_letters: false,
                            msg: c.message_in(msgs).clone(),
                            carried: carried.cloned(),
                            hops,
                        },
                    ));
                }
            }
            if let (Some(d), Some(id)) = (dedup.as_mut(), m.message_id.as_deref()) {
                d.remember(id, now, seqs[index]);
                if let Some(store) = &self.store {
                    lsn = Some(store.append(&Record::Seen {
                        entity: self.id,
                        message_id: id,
                        at_ms: millis(wall),
                        seq: seqs[index],
                    }));
                }
            }
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

/// The message's properties as filters see them, with the broker's sequence number and
/// enqueued time. `None` (and a warning) if the bytes cannot be read, which the node layer's
/// checks on sending make unexpected.
fn view_of(m: &NewMessage, seq: i64, wall: SystemTime) -> Option<MessageView> {
    match decode_view(&m.body) {
        Ok(mut view) => {
            view.sequence_number = Some(seq);
            view.enqueued_time_utc = Some(m.scheduled_enqueue_time.filter(|t| *t > wall).unwrap_or(wall));
            Some(view)
        }
        Err(error) => {
            tracing::warn!(%error, seq, "message properties unreadable; property filters do not match it");
            None
        }
    }
}

/// The copy `rule`'s action makes of `m`, carrying `RuleName`. `None` (and a warning) when
/// the action fails on this message: that rule then adds no copy.
fn acted_on(m: &NewMessage, view: &MessageView, rule: &Rule) -> Option<NewMessage> {
    let mut after = view.clone();
    if let Some(action) = &rule.action {
        if let Err(error) = action.apply(&mut after) {
            tracing::warn!(rule = %rule.name, %error, "rule action failed; no copy for this rule");
            return None;
        }
    }
    after
        .user
        .insert(RULE_NAME_PROPERTY.to_owned(), Value::String(rule.name.clone()));
    match encode_changes(&m.body, view, &after) {
        Ok(body) => Some(NewMessage {
            body: body.into(),
            session_id: after.session_id,
            time_to_live: after.time_to_live,
            scheduled_enqueue_time: m.scheduled_enqueue_time,
            message_id: after.message_id,
        }),
        Err(error) => {
            tracing::warn!(rule = %rule.name, %error, "copy could not be encoded; no copy for this rule");
            None
        }
    }
}

