//! Entity receiver links: handing out messages as the client's credit allows, and settling
//! them from the client's dispositions (invariants 10 to 16).
//!
//! Peek-lock deliveries carry the lock token as a 16-byte .NET-order delivery tag; the client's
//! outcome maps onto the entity layer (accepted = complete, modified = abandon, or defer with
//! `undeliverable-here`, rejected = dead-letter, released = unlock without counting) and an
//! unsettled disposition is answered with a settled one of the same outcome type, or with
//! `rejected{error}` when the settlement failed (lost lock).

use std::collections::HashMap;

use bytes::Bytes;
use fe2o3_amqp_types::primitives::Value;
use tokio::time::Instant;

use super::codec::{self, Stamp};
use super::errors;
use super::{time, wake, Action, NodeHandler};
use crate::amqp::{Context, DeliveryUpdate, LinkId, Modified, Outcome};
use crate::entity::{
    Disposition, EntityError, EntityHandle, LockToken, MessageState, ReceiveMode, ReceivedMessage,
    SessionLock,
};
use crate::store::Commit;

/// Most messages taken from an entity under one lock.
const RECEIVE_BATCH: usize = 64;
/// The dead-letter info keys that are not "properties to modify".
const REASON: &str = "DeadLetterReason";
const DESCRIPTION: &str = "DeadLetterErrorDescription";

/// Where a receiver link takes messages from.
pub(super) enum Source {
    /// A queue, subscription or dead-letter sub-queue.
    Entity(EntityHandle),
    /// One locked session of a session entity.
    Session(SessionLock),
}

/// One entity receiver link.
pub(super) struct ReceiverLink {
    source: Source,
    mode: ReceiveMode,
    /// Peek-lock deliveries awaiting the client's outcome: lock token and stored message.
    unsettled: HashMap<u32, (LockToken, Bytes)>,
    /// When to look at the session lock again.
    lock_check: Option<Instant>,
    batch: Vec<ReceivedMessage>,
}

impl ReceiverLink {
    pub fn new(source: Source, mode: ReceiveMode) -> Self {
        let lock_check = match &source {
            Source::Session(lock) => Some(wake::instant_at(lock.locked_until_at_accept())),
            Source::Entity(_) => None,
        };
        Self {
            source,
            mode,
            unsettled: HashMap::new(),
            lock_check,
            batch: Vec::new(),
        }
    }

    /// Gives the session back (its locked messages return without counting an attempt).
    pub fn release(self) {
        if let Source::Session(lock) = self.source {
            if let Err(error) = lock.release() {
                tracing::debug!(%error, "session was already unlocked");
            }
        }
    }

    /// The stored message delivered here under `token`, if still unsettled.
    pub fn body_of(&self, token: &LockToken) -> Option<Bytes> {
        self.unsettled
            .values()
            .find(|(t, _)| t == token)
            .map(|(_, body)| body.clone())
    }

    /// The session lock this link holds, when it is a session receiver of `session_id` on the
    /// entity at `path`.
    pub fn session_lock(&self, path: &str, session_id: &str) -> Option<&SessionLock> {
        match &self.source {
            Source::Session(lock)
                if lock.session_id() == session_id
                    && lock.entity().path().eq_ignore_ascii_case(path) =>
            {
                Some(lock)
            }
            _ => None,
        }
    }

    fn settle(&self, token: &LockToken, disposition: Disposition) -> Result<Commit, EntityError> {
        match &self.source {
            Source::Entity(entity) => entity.settle(token, disposition),
            Source::Session(lock) => lock.settle(token, disposition),
        }
    }
}

impl NodeHandler {
    /// Sends what the link's credit allows; finishes a drain if asked.
    pub(super) fn pump(&mut self, cx: &mut Context<'_>, link: LinkId, drain: bool) {
        let waker = self.wiring(cx).waker.clone();
        let Some(receiver) = self.receivers.get_mut(&link) else {
            return;
        };
        let mut batch = std::mem::take(&mut receiver.batch);
        let mut failure = None;
        loop {
            let credit = cx.credit(link) as usize;
            if credit == 0 {
                break;
            }
            batch.clear();
            let wanted = credit.min(RECEIVE_BATCH);
            let taken = match &receiver.source {
                Source::Entity(entity) => {
                    entity.try_receive_many(receiver.mode, wanted, &mut batch, Some(&waker))
                }
                Source::Session(lock) => {
                    lock.try_receive_many(receiver.mode, wanted, &mut batch, Some(&waker))
                }
            };
            match taken {
                Ok(0) => break,
                Ok(_) => {
                    // A message that cannot be sent is given back; taking it again at once
                    // would spin, so stop until the next flow or wake.
                    let mut all_sent = true;
                    for message in batch.drain(..) {
                        all_sent &= send_one(cx, link, receiver, message);
                    }
                    if !all_sent {
                        break;
                    }
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            }
        }
        receiver.batch = batch;
        if let Some(error) = failure {
            return self.detach_receiver(cx, link, &error);
        }
        if drain {
            if let Err(error) = cx.finish_drain(link) {
                tracing::debug!(%link, %error, "drain not finished");
            }
        }
    }

    /// For a session link whose check is due: detaches it if the lock is lost, else returns
    /// when to check again.
    pub(super) fn check_session_lock(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
    ) -> Option<Instant> {
        let receiver = self.receivers.get_mut(&link)?;
        let (Source::Session(lock), Some(due)) = (&receiver.source, receiver.lock_check) else {
            return None;
        };
        if Instant::now() < due {
            return Some(due);
        }
        match lock.locked_until() {
            Ok(until) => {
                let next = wake::instant_at(until);
                receiver.lock_check = Some(next);
                Some(next)
            }
            Err(error) => {
                self.detach_receiver(cx, link, &error);
                None
            }
        }
    }

    fn detach_receiver(&mut self, cx: &mut Context<'_>, link: LinkId, error: &EntityError) {
        tracing::debug!(%link, %error, "detaching receiver");
        if let Some(receiver) = self.receivers.remove(&link) {
            receiver.release();
        }
        if let Err(e) = cx.detach(link, Some(errors::entity_error(error))) {
            tracing::debug!(%link, error = %e, "receiver already gone");
        }
    }

    /// Applies the client's outcome for one delivery and answers an unsettled disposition.
    pub(super) fn disposition(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        update: DeliveryUpdate,
    ) {
        let Some(outcome) = update.outcome else {
            return;
        };
        let id = update.delivery_id;
        let settled = self
            .receivers
            .get_mut(&link)
            .map(|r| (r.unsettled.remove(&id), r));
        let result = match settled {
            Some((Some((token, body)), receiver)) => {
                let (disposition, echo) = disposition_for(outcome, body);
                receiver
                    .settle(&token, disposition)
                    .map(|commit| (commit, echo))
            }
            // Reply links and receive-and-delete deliveries need no settlement.
            Some((None, receiver)) if receiver.mode == ReceiveMode::ReceiveAndDelete => return,
            None if self.replies.contains(link) => return,
            _ => Err(EntityError::MessageLockLost),
        };
        if update.settled {
            return;
        }
        match result {
            Ok((commit, echo)) => self.after_commit(
                cx,
                commit,
                Action::Echo {
                    link,
                    delivery_id: id,
                    outcome: echo,
                },
            ),
            Err(error) => {
                let refusal = Outcome::Rejected(Some(errors::entity_error(&error)));
                if let Err(e) = cx.echo_settled(link, id, refusal) {
                    tracing::debug!(%link, error = %e, "disposition not answered");
                }
            }
        }
    }
}

/// Sends `message` on `link`; `false` when it could not be (it is given back unlocked).
fn send_one(
    cx: &mut Context<'_>,
    link: LinkId,
    receiver: &mut ReceiverLink,
    message: ReceivedMessage,
) -> bool {
    let peek_lock = receiver.mode == ReceiveMode::PeekLock;
    let stamp = stamp_of(&message, peek_lock);
    let mut payload = Vec::with_capacity(message.body.len() + 192);
    let encoded = codec::encode_delivery(&message.body, &stamp, &mut payload);
    let token = message.lock_token;
    let sent = encoded.map_err(|e| e.to_string()).and_then(|()| {
        // Peek-lock: the lock token in .NET order; receive-and-delete: the sequence number.
        let (tag, len, settled) = match &token {
            Some(token) => (token.to_dotnet_bytes(), 16, false),
            None => {
                let mut tag = [0u8; 16];
                tag[..8].copy_from_slice(&message.sequence_number.to_be_bytes());
                (tag, 8, true)
            }
        };
        cx.send(link, &tag[..len], Bytes::from(payload), 0, settled)
            .map_err(|e| e.to_string())
    });
    match (sent, token) {
        (Ok(delivery_id), Some(token)) => {
            receiver
                .unsettled
                .insert(delivery_id, (token, message.body));
            true
        }
        (Ok(_), None) => true,
        (Err(error), token) => {
            tracing::warn!(%link, %error, sequence_number = message.sequence_number, "message not delivered");
            if let Some(token) = token {
                // Give it back without counting the attempt.
                let _ = receiver.settle(&token, Disposition::Release);
            }
            false
        }
    }
}

/// What the broker adds to `message` on the way out; `locked` includes the lock token and
/// locked-until (peek-lock deliveries, receive-by-sequence-number).
pub(super) fn stamp_of(message: &ReceivedMessage, locked: bool) -> Stamp<'_> {
    let dead_letter = message.dead_letter.as_deref();
    Stamp {
        lock_token: message.lock_token.filter(|_| locked).map(|t| *t.as_bytes()),
        delivery_count: message.delivery_count,
        time_to_live_ms: effective_ttl_ms(message),
        sequence_number: message.sequence_number,
        enqueued_time_ms: time::unix_ms(message.enqueued_time),
        locked_until_ms: message.locked_until.filter(|_| locked).map(time::unix_ms),
        state: message.state.as_i32(),
        enqueue_sequence_number: message.sequence_number,
        dead_letter_reason: dead_letter.and_then(|d| d.reason.as_deref()),
        dead_letter_description: dead_letter.and_then(|d| d.description.as_deref()),
        dead_letter_source: dead_letter.and_then(|d| d.source.as_deref()),
    }
}

/// The time to live Azure reports on a delivered message: the one its expiry was computed with
/// (the message's own, capped by the entity's default, or the default), so that the SDKs'
/// `expires_at` (enqueued time + time to live) is the broker's. `None` for messages that never
/// expire, scheduled ones (their expiry counts from their scheduled time, not yet their
/// enqueued time) and times to live beyond `header.ttl`'s range: the client's header stays.
fn effective_ttl_ms(message: &ReceivedMessage) -> Option<u32> {
    if message.state == MessageState::Scheduled {
        return None;
    }
    let ttl = message.expires_at?.duration_since(message.enqueued_time).ok()?;
    u32::try_from(ttl.as_millis()).ok()
}

/// The entity disposition for a client outcome, and the outcome to echo on success.
fn disposition_for(outcome: Outcome, body: Bytes) -> (Disposition, Outcome) {
    match outcome {
        Outcome::Accepted => (Disposition::Complete, Outcome::Accepted),
        Outcome::Released => (Disposition::Release, Outcome::Released),
        Outcome::Modified(modified) => {
            let body = modified_body(&body, &modified.message_annotations);
            let echo = Outcome::Modified(Modified {
                delivery_failed: modified.delivery_failed,
                undeliverable_here: modified.undeliverable_here,
                message_annotations: Vec::new(),
            });
            if modified.undeliverable_here == Some(true) {
                (Disposition::Defer { body }, echo)
            } else {
                (Disposition::Abandon { body }, echo)
            }
        }
        Outcome::Rejected(error) => {
            let (reason, description, changes) = match &error {
                Some(e) => (
                    e.info_str(REASON).map(str::to_owned),
                    e.info_str(DESCRIPTION)
                        .map(str::to_owned)
                        .or_else(|| e.description.clone()),
                    e.info
                        .iter()
                        .filter(|(k, _)| k != REASON && k != DESCRIPTION)
                        .cloned()
                        .collect(),
                ),
                None => (None, None, Vec::new()),
            };
            let body = modified_body(&body, &changes);
            (
                Disposition::DeadLetter {
                    reason,
                    description,
                    body,
                },
                Outcome::Rejected(None),
            )
        }
    }
}

/// The stored message with "properties to modify" applied, `None` if there are none (or they
/// cannot be encoded, in which case the message is kept as it was).
pub(super) fn modified_body(body: &Bytes, changes: &[(String, Value)]) -> Option<Bytes> {
    if changes.is_empty() {
        return None;
    }
    let encoded: Result<Vec<(&str, Vec<u8>)>, _> = changes
        .iter()
        .map(|(k, v)| serde_amqp::to_vec(v).map(|raw| (k.as_str(), raw)))
        .collect();
    let encoded = encoded.ok()?;
    let refs: Vec<(&str, &[u8])> = encoded.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    match codec::rewrite_application_properties(body, &refs) {
        Ok(rewritten) => Some(Bytes::from(rewritten)),
        Err(error) => {
            tracing::warn!(%error, "properties to modify not applied");
            None
        }
    }
}
