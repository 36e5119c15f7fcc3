//! A topic's fan-out: each message goes to the subscriptions whose rules admit it.
//!
//! The message's properties are decoded once per message, and only when some subscription
//! has a rule that reads them (a topic whose subscriptions all have `$Default` never decodes).
//! A subscription gets one copy when a rule without an action matches, and one more copy per
//! matching rule with an action (see [`crate::filter::Rule`]); the first copy keeps the
//! message's sequence number, further copies draw new numbers from the topic.

use std::sync::atomic::Ordering;
use std::time::SystemTime;

use tokio::time::Instant;

use super::send::enqueue_record;
use super::topic::TopicShared;
use super::{EntityError, NewMessage};
use crate::filter::{
    decode_view, encode_changes, MessageView, Rule, Value, RULE_NAME_PROPERTY,
};
use crate::store::Commit;

/// One message (as sent, or as an action changed it) for one subscription.
struct Delivery {
    /// Index of the message in the batch.
    message: usize,
    /// Index of the subscription in the locked list.
    subscription: usize,
    seq: i64,
    /// `None`: the message as sent; `Some`: the copy an action changed.
    changed: Option<NewMessage>,
}

impl Delivery {
    fn message_in<'m>(&'m self, msgs: &'m [NewMessage]) -> &'m NewMessage {
        self.changed.as_ref().unwrap_or(&msgs[self.message])
    }
}

impl TopicShared {
    /// Copies each message to the subscriptions its rules admit, all subscription locks held
    /// so that the log records precede any settlement of a copy.
    pub(super) fn fan_out(
        &self,
        msgs: &[NewMessage],
        mut on_seq: impl FnMut(i64),
    ) -> Result<Commit, EntityError> {
        let subs = self.live_subscriptions()?;
        let mut guards: Vec<_> = subs
            .iter()
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
        let mut copies = Vec::with_capacity(msgs.len() * guards.len());
        for (index, m) in msgs.iter().enumerate() {
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            seqs.push(seq);
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
                    });
                }
            }
        }
        let mut per_subscription = vec![Vec::new(); guards.len()];
        for c in &copies {
            per_subscription[c.subscription].push(c.message_in(msgs));
        }
        for ((_, g), mine) in guards.iter().zip(&per_subscription) {
            g.check_send(mine.iter().copied())?;
        }
        let mut lsn = None;
        if let Some(store) = &self.store {
            // `copies` is in message order: each message's deliveries are a run of it.
            let mut rest = copies.as_slice();
            for (index, m) in msgs.iter().enumerate() {
                let run = rest.iter().take_while(|c| c.message == index).count();
                let (mine, tail) = rest.split_at(run);
                rest = tail;
                // Every message is logged, admitted or not: recovery takes the topic's next
                // sequence number from it.
                let targets: Vec<u32> = mine
                    .iter()
                    .filter(|c| c.changed.is_none())
                    .map(|c| guards[c.subscription].1.journal.id)
                    .collect();
                let record = enqueue_record(self.id, &targets, seqs[index], m, wall);
                lsn = Some(store.append(&record));
                for c in mine {
                    if let Some(changed) = &c.changed {
                        let target = [guards[c.subscription].1.journal.id];
                        let record = enqueue_record(self.id, &target, c.seq, changed, wall);
                        lsn = Some(store.append(&record));
                    }
                }
            }
        }
        for c in &copies {
            guards[c.subscription]
                .1
                .enqueue(c.seq, c.message_in(msgs), now, wall);
        }
        seqs.into_iter().for_each(&mut on_seq);
        for (shared, g) in guards.iter_mut() {
            shared.rearm(g);
        }
        Ok(match (&self.store, lsn) {
            (Some(store), Some(lsn)) => store.commit(lsn),
            _ => Commit::ready(),
        })
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
        }),
        Err(error) => {
            tracing::warn!(rule = %rule.name, %error, "copy could not be encoded; no copy for this rule");
            None
        }
    }
}

