//! Peeking a topic: Azure keeps a topic's scheduled messages at the topic until their time, and
//! a peek addressed to the topic lists them (a subscription's peek does not). Berth copies
//! scheduled messages into every subscription at send; the topic's peek is the union of those
//! copies, each sequence number once, in sequence order.

use std::collections::BTreeMap;

use super::state::Sub;
use super::status::Operation;
use super::topic::TopicHandle;
use super::{EntityError, MessageState, ReceivedMessage};
use crate::store::Commit;

impl TopicHandle {
    /// Up to `max` of the topic's scheduled messages from sequence number `from_seq` on.
    pub fn peek(&self, from_seq: i64, max: usize) -> Result<Vec<ReceivedMessage>, EntityError> {
        // The topic's status and activity; the copies are read whatever their
        // subscription's status (they are the topic's messages).
        self.shared
            .lifecycle
            .check(Operation::Receive, &self.shared.name)?;
        self.shared.lifecycle.touch();
        let mut found: BTreeMap<i64, ReceivedMessage> = BTreeMap::new();
        for sub in self.shared.live_subscriptions()? {
            let copies = sub.with_quiet(|st, _, _| {
                Ok(st
                    .sub(Sub::Main)
                    .messages
                    .range(from_seq..)
                    .filter(|(_, m)| m.state == MessageState::Scheduled)
                    .take(max)
                    .map(|(&seq, m)| {
                        let mut view = m.view(seq, None);
                        view.lock_token = None;
                        view
                    })
                    .collect::<Vec<_>>())
            });
            // A subscription deleted since the list was taken has nothing to add.
            for copy in copies.unwrap_or_default() {
                found.entry(copy.sequence_number).or_insert(copy);
            }
        }
        Ok(found.into_values().take(max).collect())
    }

    /// A commit covering everything logged so far, for a reply that shows the topic's state.
    pub fn commit_all(&self) -> Commit {
        match &self.shared.store {
            Some(store) => store.commit_all(),
            None => Commit::ready(),
        }
    }
}
