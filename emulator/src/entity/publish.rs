//! Publishing to a topic: the topic's status, then the fan-out (`fan_out`: duplicate
//! detection, rules, a copy for every subscription that takes it, under all subscription
//! locks); forwarding subscriptions' copies are sent on after the locks are released.
//!
//! Chosen where the documentation is silent: a subscription whose status is Disabled or
//! SendDisabled takes no copy (the topic still accepts the message).

use std::sync::Arc;

use super::forward::forward;
use super::status::Operation;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityError, NewMessage};
use crate::store::Commit;

impl TopicShared {
    /// Sends `msgs` to the topic: each gets the topic's next sequence number (a duplicate gets
    /// the kept message's) and copies go to the subscriptions that take it.
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
}
