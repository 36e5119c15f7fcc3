//! A scheduled message turning active. Azure documents that it "is appended into the queue as
//! if it had been enqueued at the current instant, which includes assigning a new
//! SequenceNumber": the number returned by `schedule` (the one `cancel` takes) is valid only
//! while the message is scheduled. Its enqueued time becomes its scheduled time.
//!
//! A queue draws the new number from its own counter. A topic's message is scheduled in every
//! subscription (see `runtime`), and Azure fans it out once, so every copy must get the same
//! new number: the first subscription to activate draws it from the topic's counter and the
//! topic remembers `old → new` for [`RENUMBER_MEMORY`], long enough for the other copies (they
//! are due at the same instant). The change is logged (`Record::Activate`), so a restart keeps
//! the new number; a message that came due while the broker was down is activated, and
//! renumbered, when its entity is restored. An auto-forwarding entity forwards the message
//! once activated (renumbered first, so that the log's removal names the new number).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::time::Instant;

use super::forward::Outgoing;
use super::state::{EntityState, Sub};
use super::topic::TopicShared;
use super::MessageState;
use crate::store::record::Record;

/// How long a topic remembers the new number of an activated message for its other copies.
pub(crate) const RENUMBER_MEMORY: Duration = Duration::from_secs(60);

/// The new numbers of a topic's recently activated messages: old → (new, when drawn).
#[derive(Default)]
pub(crate) struct Renumbered(Mutex<HashMap<i64, (i64, Instant)>>);

impl TopicShared {
    /// The new sequence number of the topic message `old`, the same for every copy.
    pub(crate) fn renumber(&self, old: i64, now: Instant) -> i64 {
        let mut map = self.renumbered.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (_, drawn)| now.saturating_duration_since(*drawn) < RENUMBER_MEMORY);
        let next = &self.next_seq;
        map.entry(old)
            .or_insert_with(|| (next.fetch_add(1, std::sync::atomic::Ordering::Relaxed), now))
            .0
    }
}

/// Where an entity's activated messages take their new number from.
#[derive(Default)]
pub(crate) enum Numbering {
    /// The entity's own counter (queues).
    #[default]
    Own,
    /// The topic's (subscriptions); gone once the topic is deleted.
    Topic(Weak<TopicShared>),
}

impl Numbering {
    /// The numbering of a subscription of `topic`.
    pub fn topic(topic: &Arc<TopicShared>) -> Self {
        Self::Topic(Arc::downgrade(topic))
    }
}

impl EntityState {
    /// A scheduled message reached its time: it becomes active with a new sequence number,
    /// enqueued at its scheduled time.
    pub(super) fn activate(&mut self, seq: i64, now: Instant) {
        let scheduled = self
            .main
            .messages
            .get(&seq)
            .is_some_and(|m| m.state == MessageState::Scheduled);
        if !scheduled {
            return;
        }
        let new_seq = match &self.numbering {
            Numbering::Own => {
                let n = self.next_seq;
                self.next_seq += 1;
                n
            }
            Numbering::Topic(topic) => match topic.upgrade() {
                Some(topic) => topic.renumber(seq, now),
                None => return, // the topic, and so this subscription, is being deleted
            },
        };
        let Some(mut msg) = self.remove(Sub::Main, seq) else {
            return;
        };
        self.journal.log(|entity| Record::Activate {
            entity,
            seq,
            new_seq,
        });
        self.logged_for(Sub::Main, msg.session.as_deref());
        msg.state = MessageState::Active;
        msg.activate_at = None;
        if let Some(at) = msg.scheduled {
            msg.enqueued = at;
        }
        if self.options.forward_to.is_some() {
            // An auto-forwarding entity holds a scheduled message until its time, then
            // forwards it under its new number (the log keeps it here until the forward is
            // logged).
            self.outbox
                .push(Outgoing::from_stored(new_seq, Sub::Main, false, msg));
            return;
        }
        self.insert(Sub::Main, new_seq, msg);
    }
}
