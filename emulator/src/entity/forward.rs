//! Auto-forwarding: `forward_to` and `forward_dead_lettered_messages_to` on queues and
//! subscriptions, and the transfer dead-letter sub-queue (`$Transfer/$DeadLetterQueue`).
//!
//! As Service Bus does it (docs: "Chaining Service Bus entities with autoforwarding",
//! "Overview of Service Bus dead-letter queues"):
//! * A message that becomes active in a forwarding entity moves on to the destination queue or
//!   topic at once; it gets the destination's sequence number and enqueued time there and keeps
//!   everything else (its body and properties are the same bytes). A scheduled message waits in
//!   the forwarding entity until its time, then moves on (so cancelling it by the number the
//!   sender got works until then).
//! * A dead-lettered message of an entity with `forward_dead_lettered_messages_to` moves on to
//!   that destination with its `DeadLetterReason` / `DeadLetterErrorDescription` and
//!   `x-opt-deadletter-source` naming the entity it was dead-lettered in.
//! * A message may be forwarded [`MAX_TRANSFER_HOPS`] (4) times; the entity that would forward
//!   it a fifth time (a chain too long, or a loop) puts it in its transfer dead-letter
//!   sub-queue with reason `MaxTransferHopCountExceeded`.
//! * When the destination is gone, disabled for sending, full, or refuses the message (no
//!   session id for a session entity) the message goes to the forwarding entity's transfer
//!   dead-letter sub-queue; the reason is the name of the exception Service Bus would raise
//!   (`MessagingEntityNotFoundException`, `MessagingEntityDisabledException`,
//!   `QuotaExceededException`, or Service Bus's `Session ID is null.` text) and the description
//!   its message (chosen: the docs list these conditions, not the texts).
//!
//! Forwarding runs when the message arrives, with no entity lock held, so there is never a
//! message *waiting* to be transferred: the transfer message count is always 0 between
//! operations. Crash safety: a message that left a sub-queue stays recorded there until its
//! arrival at the destination is logged, so a crash in between delivers it twice rather than losing it.

use std::sync::{Arc, OnceLock, RwLock, Weak};

use super::error::SESSION_ID_MISSING;
use super::handle::EntityShared;
use super::message::{StoredMessage, MAX_TRANSFER_HOPS, MAX_TRANSFER_HOP_COUNT_EXCEEDED};
use super::path::key;
use super::registry::Registry;
use super::state::Sub;
use super::topic::TopicShared;
use super::{DeadLetterInfo, EntityError, MessageState, NewMessage};
use crate::store::record::Record;
use crate::store::Commit;

/// A message on its way out of an entity by auto-forwarding.
pub(crate) struct Outgoing {
    /// The number it keeps if it lands in the transfer dead-letter sub-queue (the source's; a
    /// message sent to a forwarding queue has none yet).
    pub seq: Option<i64>,
    /// Where the source's log still holds it, if it does.
    pub recorded: Option<Sub>,
    /// Forwarded by `forward_dead_lettered_messages_to` (else by `forward_to`).
    pub dead_letters: bool,
    pub msg: NewMessage,
    /// Dead-letter reason, description and source travelling with it.
    pub carried: Option<Arc<DeadLetterInfo>>,
    /// Forwards so far.
    pub hops: u8,
}

impl Outgoing {
    /// A message taken out of one of the entity's sub-queues.
    pub fn from_stored(seq: i64, from: Sub, dead_letters: bool, m: StoredMessage) -> Self {
        Self {
            seq: Some(seq),
            recorded: Some(from),
            dead_letters,
            msg: NewMessage {
                body: m.body,
                session_id: m.session.map(|s| s.to_string()),
                time_to_live: m.ttl,
                scheduled_enqueue_time: None,
                message_id: None,
            },
            carried: m.dead_letter,
            hops: 0,
        }
    }
}

/// Where a forward goes.
pub(crate) enum Dest {
    Queue(Arc<EntityShared>),
    Topic(Arc<TopicShared>),
}

/// Finds destinations by name in the namespace's registry (bound once the namespace exists).
#[derive(Clone, Default)]
pub(crate) struct Router(Arc<OnceLock<Weak<RwLock<Registry>>>>);

impl Router {
    pub fn bind(&self, registry: &Arc<RwLock<Registry>>) {
        let _ = self.0.set(Arc::downgrade(registry));
    }

    /// The queue or topic named `name`, if it exists.
    pub fn dest(&self, name: &str) -> Option<Dest> {
        let registry = self.0.get()?.upgrade()?;
        let reg = registry.read().unwrap_or_else(|e| e.into_inner());
        let k = key(name.trim_matches('/'));
        if let Some(q) = reg.queues.get(&k) {
            Some(Dest::Queue(q.clone()))
        } else {
            reg.topics.get(&k).map(|t| Dest::Topic(t.clone()))
        }
    }
}

/// Forwards `out` from `source` to its destination (following the destination's own
/// forwarding). Returns the number it got at the destination (`None`: it went to the source's
/// transfer dead-letter sub-queue) and a commit covering the records.
pub(crate) fn forward(source: &Arc<EntityShared>, mut out: Outgoing) -> (Option<i64>, Commit) {
    let target = if out.dead_letters {
        source.options.forward_dead_lettered_messages_to.as_deref()
    } else {
        source.options.forward_to.as_deref()
    };
    let result = match target {
        _ if out.hops >= MAX_TRANSFER_HOPS => Err(None),
        None => Err(Some(EntityError::not_found(""))),
        Some(name) => match source.router.dest(name) {
            None => Err(Some(EntityError::not_found(name))),
            Some(dest) => {
                out.hops += 1;
                deliver(dest, &out).map_err(Some)
            }
        },
    };
    match result {
        Ok((seq, commit)) => (Some(seq), commit.and(settle_source(source, &out))),
        Err(error) => {
            let (reason, description) = failure(error.as_ref());
            (None, transfer_dead_letter(source, out, reason, description))
        }
    }
}

/// Puts a message into `dest` (a queue, or a topic's subscriptions).
fn deliver(dest: Dest, out: &Outgoing) -> Result<(i64, Commit), EntityError> {
    match dest {
        Dest::Queue(q) => q.accept_forwarded(out),
        Dest::Topic(t) => {
            let (seqs, commit) =
                t.publish(std::slice::from_ref(&out.msg), out.carried.as_ref(), out.hops)?;
            Ok((seqs.first().copied().unwrap_or(0), commit))
        }
    }
}

/// The `DeadLetterReason` and description for a failed forward (`None`: too many hops).
fn failure(error: Option<&EntityError>) -> (String, String) {
    let exception = match error {
        None => {
            return (
                MAX_TRANSFER_HOP_COUNT_EXCEEDED.to_owned(),
                "The maximum number of allowed hops when forwarding between queues has been exceeded."
                    .to_owned(),
            )
        }
        Some(EntityError::NotAllowed(text)) if text == SESSION_ID_MISSING => {
            return (
                "Session ID is null.".to_owned(),
                "Session enabled entity doesn't allow a message whose session identifier is null."
                    .to_owned(),
            )
        }
        Some(e @ EntityError::NotFound { .. }) => ("MessagingEntityNotFoundException", e),
        Some(e @ EntityError::Disabled { .. }) => ("MessagingEntityDisabledException", e),
        Some(e @ EntityError::QuotaExceeded { .. }) => ("QuotaExceededException", e),
        Some(e) => ("InvalidOperationException", e),
    };
    (exception.0.to_owned(), exception.1.to_string())
}

/// The forward is logged at the destination: the source may forget the message now.
fn settle_source(source: &EntityShared, out: &Outgoing) -> Commit {
    let (Some(sub), Some(seq)) = (out.recorded, out.seq) else {
        return Commit::ready();
    };
    source
        .with_quiet(|st, _, _| {
            st.journal
                .log(|entity| Record::Remove { entity, sub, seq });
            Ok(st.journal.commit())
        })
        .unwrap_or_else(|_| Commit::ready())
}

/// Moves a message that could not be forwarded into the source's transfer dead-letter
/// sub-queue.
fn transfer_dead_letter(
    source: &EntityShared,
    out: Outgoing,
    reason: String,
    description: String,
) -> Commit {
    tracing::debug!(entity = %source.path, %reason, "auto-forward failed; message moved to the transfer dead-letter queue");
    let done = source.with_quiet(|st, now, wall| {
        let seq = match out.seq {
            Some(seq) => seq,
            None => {
                let seq = st.next_seq;
                st.next_seq += 1;
                seq
            }
        };
        let from = match out.recorded {
            Some(sub) => sub,
            None => {
                let ids = [st.journal.id];
                st.journal
                    .log(|id| super::send::enqueue_record(id, &ids, seq, &out.msg, wall));
                Sub::Main
            }
        };
        st.journal.log(|entity| Record::TransferDeadLetter {
            entity,
            from,
            seq,
            reason: Some(&reason),
            description: Some(&description),
        });
        let msg = StoredMessage {
            body: out.msg.body.clone(),
            session: out.msg.session_id.as_deref().map(Arc::from),
            ttl: out.msg.time_to_live,
            enqueued: wall,
            expires: None,
            scheduled: None,
            activate_at: None,
            state: MessageState::Active,
            delivery_count: 0,
            lock: None,
            dead_letter: Some(Arc::new(DeadLetterInfo {
                reason: Some(reason.clone()),
                description: Some(description.clone()),
                source: None,
            })),
            queued: false,
        };
        let _ = now;
        st.insert(Sub::TransferDeadLetter, seq, msg);
        Ok(st.journal.commit())
    });
    match done {
        Ok(commit) => commit,
        Err(e) => {
            tracing::warn!(entity = %source.path, error = %e, "a message that could not be forwarded was lost with its entity");
            Commit::ready()
        }
    }
}
