//! Answering attaches: `$cbs` and `$management` link pairs, entity senders, entity receivers
//! (plain, session by id, next-available session held until one appears or the client's
//! `com.microsoft:timeout` elapses — invariants 6 to 9 and 17).

use std::time::Duration;

use fe2o3_amqp_types::definitions::{Fields, ReceiverSettleMode, Role, SenderSettleMode};
use fe2o3_amqp_types::performatives::Attach;
use fe2o3_amqp_types::primitives::{Symbol, Value};
use tokio::time::Instant;

use super::address::{self, Node};
use super::errors;
use super::outgoing::{ReceiverLink, Source};
use super::{NodeHandler, RequestNode};
use crate::amqp::{AttachReply, Context, LinkId};
use crate::entity::{
    EntityError, EntityHandle, ReceiveMode, SessionLock, SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER,
    SESSION_RECEIVER_ON_SESSIONLESS_ENTITY,
};
use crate::rights::Right;

/// The source filter naming the session a receiver wants.
const SESSION_FILTER: &str = "com.microsoft:session-filter";
/// Described session filter descriptor code (domain 0x137, id 0xC).
const SESSION_FILTER_CODE: u64 = 0x0000_0137_0000_000C;
/// Link property with the session lock's expiry in .NET ticks.
const LOCKED_UNTIL_UTC: &str = "com.microsoft:locked-until-utc";
/// Link property bounding the next-available wait (uint milliseconds).
const TIMEOUT: &str = "com.microsoft:timeout";
/// Link property with the largest batch the SDKs should build (bytes).
const MAX_BATCH_SIZE: &str = "com.microsoft:max-message-batch-size";
/// Credit window for links on which we receive (entity senders, request links).
const RECEIVE_WINDOW: u32 = 100;

/// A next-available session attach waiting for a session.
#[derive(Debug)]
pub(super) struct PendingSession {
    pub link: LinkId,
    attach: Box<Attach>,
    entity: EntityHandle,
    mode: ReceiveMode,
    deadline: Instant,
    timeout: Duration,
}

impl NodeHandler {
    pub(super) fn attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
        let client_sends = attach.role == Role::Sender;
        let address = if client_sends {
            cx.link_info(link).and_then(|i| i.target_address.clone())
        } else {
            attach.source.as_ref().and_then(|s| s.address.clone())
        };
        let Some(address) = address else {
            return refuse(
                cx,
                link,
                "amqp:invalid-field",
                "The link has no node address.",
            );
        };
        tracing::debug!(%link, %address, name = %attach.name, client_sends, "attach");
        match address::classify(&address) {
            Node::Cbs => {
                self.accept_plain(cx, link, attach, client_sends);
                if client_sends {
                    self.requests.insert(link, RequestNode::Cbs);
                } else {
                    self.replies.add(link);
                }
            }
            Node::Management(path) => {
                // A token for the entity covers its management node; JS also puts one for
                // `<entity>/$management` alone.
                // Each operation then needs its own claim (see `management`).
                let node = format!("{path}/$management");
                if let Err(denied) = self.authorise_link(link, &node, None) {
                    return self.refuse_unauthorized(cx, link, attach, client_sends, &denied);
                }
                if let Err(e) = self.config.namespace.resolve(path) {
                    return refuse_with(cx, link, &e);
                }
                self.accept_plain(cx, link, attach, client_sends);
                if client_sends {
                    self.requests
                        .insert(link, RequestNode::Management(path.to_owned()));
                } else {
                    self.replies.add(link);
                }
            }
            Node::Entity(path) => {
                let right = if client_sends {
                    Right::Send
                } else {
                    Right::Listen
                };
                if let Err(denied) = self.authorise_link(link, path, Some(right)) {
                    return self.refuse_unauthorized(cx, link, attach, client_sends, &denied);
                }
                if client_sends {
                    match self.config.namespace.sender(path) {
                        Ok(sender) => {
                            self.accept_sender(cx, link, attach);
                            self.senders.insert(link, sender);
                        }
                        Err(e) => refuse_with(cx, link, &e),
                    }
                } else {
                    self.attach_receiver(cx, link, attach, path);
                }
            }
        }
    }

    /// Refuses a link its tokens do not authorise as Service Bus does: an attach whose
    /// terminus on our side is null (the link was not created), then `detach(closed)` with
    /// `amqp:unauthorized-access`. The null terminus keeps clients from sending on the link
    /// before they see the error (Python would otherwise report its transfer as undelivered).
    fn refuse_unauthorized(
        &self,
        cx: &mut Context<'_>,
        link: LinkId,
        attach: &Attach,
        client_sends: bool,
        denied: &super::cbs::Denied,
    ) {
        let mut reply = self.reply(attach);
        if client_sends {
            reply.target = None;
        } else {
            reply.source = None;
        }
        let error = errors::service_error("amqp:unauthorized-access", &denied.to_string());
        let refused = cx
            .accept_attach(link, reply)
            .and_then(|()| cx.detach(link, Some(error)));
        if let Err(error) = refused {
            tracing::debug!(%link, %error, "unauthorised attach could not be refused");
        }
    }

    fn reply(&self, attach: &Attach) -> AttachReply {
        let mut reply = AttachReply::echo(attach);
        reply.max_message_size = Some(self.config.transfer_limit());
        reply
    }

    /// An entity sender link: like any link we receive on, plus the batch size limit the
    /// SDKs fill their batches to (Python 7.15 reads the property; JS sizes batches from the
    /// link's `max-message-size`, which keeps room for the batch envelope).
    fn accept_sender(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
        let mut reply = self.reply(attach);
        reply.credit_window = RECEIVE_WINDOW;
        reply.rcv_settle_mode = ReceiverSettleMode::First;
        let mut properties = Fields::new();
        let batch = Value::Ulong(self.config.max_message_size);
        properties.insert(Symbol::from(MAX_BATCH_SIZE), batch);
        reply.properties = Some(properties);
        if let Err(error) = cx.accept_attach(link, reply) {
            tracing::debug!(%link, %error, "sender attach could not be accepted");
        }
    }

    fn accept_plain(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        attach: &Attach,
        we_receive: bool,
    ) {
        let mut reply = self.reply(attach);
        if we_receive {
            reply.credit_window = RECEIVE_WINDOW;
            // We settle transfers in one step, as Service Bus does (Python proposes `second`).
            reply.rcv_settle_mode = ReceiverSettleMode::First;
        }
        if let Err(error) = cx.accept_attach(link, reply) {
            tracing::debug!(%link, %error, "attach could not be accepted");
        }
    }

    fn attach_receiver(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach, path: &str) {
        let entity = match self.config.namespace.receiver(path) {
            Ok(entity) => entity,
            Err(e) => return refuse_with(cx, link, &e),
        };
        let mode = match attach.snd_settle_mode {
            SenderSettleMode::Settled => ReceiveMode::ReceiveAndDelete,
            _ => ReceiveMode::PeekLock,
        };
        let Some(requested) = session_filter(attach) else {
            if entity.requires_session() {
                return refuse(
                    cx,
                    link,
                    "amqp:not-allowed",
                    SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER,
                );
            }
            if let Err(error) = cx.accept_attach(link, self.reply(attach)) {
                return tracing::debug!(%link, %error, "receiver attach not accepted");
            }
            self.receivers
                .insert(link, ReceiverLink::new(Source::Entity(entity), mode));
            return;
        };
        if !entity.requires_session() {
            return refuse(
                cx,
                link,
                "amqp:not-allowed",
                SESSION_RECEIVER_ON_SESSIONLESS_ENTITY,
            );
        }
        match requested {
            Some(id) => match entity.accept_session(&id) {
                Ok(lock) => self.accept_session(cx, link, attach, lock, mode),
                Err(e) => self.refuse_session(cx, link, attach, e.condition(), &e.to_string()),
            },
            None => {
                let timeout = requested_timeout(attach).unwrap_or(self.config.next_session_timeout);
                let waiting = PendingSession {
                    link,
                    attach: Box::new(attach.clone()),
                    entity,
                    mode,
                    deadline: Instant::now() + timeout,
                    timeout,
                };
                self.pending.push(waiting);
            }
        }
    }

    fn accept_session(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        attach: &Attach,
        lock: SessionLock,
        mode: ReceiveMode,
    ) {
        let mut reply = self.reply(attach);
        if let Some(source) = reply.source.as_mut() {
            let filter = source.filter.get_or_insert_with(Default::default);
            filter.insert(
                Symbol::from(SESSION_FILTER),
                Value::String(lock.session_id().to_owned()),
            );
        }
        let locked_until = lock
            .locked_until()
            .unwrap_or_else(|_| lock.locked_until_at_accept());
        let mut properties = Fields::new();
        properties.insert(
            Symbol::from(LOCKED_UNTIL_UTC),
            Value::Long(crate::ticks::to_ticks(locked_until)),
        );
        reply.properties = Some(properties);
        if let Err(error) = cx.accept_attach(link, reply) {
            // Dropping the lock releases the session without counting anything.
            return tracing::debug!(%link, %error, "session receiver attach not accepted");
        }
        tracing::debug!(%link, session_id = lock.session_id(), "session accepted");
        self.receivers
            .insert(link, ReceiverLink::new(Source::Session(lock), mode));
    }

    /// Accepts or times out held next-available attaches; returns the earliest deadline left.
    pub(super) fn poll_pending(&mut self, cx: &mut Context<'_>) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        let waker = self.wiring(cx).waker.clone();
        let now = Instant::now();
        let mut next = None;
        for waiting in std::mem::take(&mut self.pending) {
            match waiting.entity.try_accept_next_session(Some(&waker)) {
                Ok(Some(lock)) => {
                    self.accept_session(cx, waiting.link, &waiting.attach, lock, waiting.mode)
                }
                Ok(None) if now >= waiting.deadline => {
                    let text = format!(
                        "The operation did not complete within the allotted timeout of {:?}. No unlocked session with messages was available.",
                        waiting.timeout
                    );
                    let condition = "com.microsoft:timeout";
                    self.refuse_session(cx, waiting.link, &waiting.attach, condition, &text);
                }
                Ok(None) => {
                    next = super::earliest(next, Some(waiting.deadline));
                    self.pending.push(waiting);
                }
                Err(e) => {
                    let text = e.to_string();
                    self.refuse_session(cx, waiting.link, &waiting.attach, e.condition(), &text);
                }
            }
        }
        next
    }

    /// Answers a session attach that cannot be served: an attach echoing the client's
    /// terminus with a *null* session filter, then `detach(closed, error)`. JS compares the
    /// echoed filter with the id it asked for (a mismatch is its `SessionCannotBeLocked`);
    /// Python reports the detach's error.
    fn refuse_session(
        &self,
        cx: &mut Context<'_>,
        link: LinkId,
        attach: &Attach,
        condition: &str,
        text: &str,
    ) {
        let mut reply = self.reply(attach);
        if let Some(source) = reply.source.as_mut() {
            let filter = source.filter.get_or_insert_with(Default::default);
            filter.insert(Symbol::from(SESSION_FILTER), Value::Null);
        }
        let refused = cx
            .accept_attach(link, reply)
            .and_then(|()| cx.detach(link, Some(errors::service_error(condition, text))));
        if let Err(error) = refused {
            tracing::debug!(%link, %error, "session attach could not be refused");
        }
    }
}

/// `Some(None)` for next-available, `Some(Some(id))` for a named session, `None` for a plain
/// (non-session) receiver. Accepts a null, string or described filter value.
fn session_filter(attach: &Attach) -> Option<Option<String>> {
    let filter = attach.source.as_ref()?.filter.as_ref()?;
    let value = filter.get(&Symbol::from(SESSION_FILTER))?;
    let value = match value {
        Value::Described(described) => {
            let known = match &described.descriptor {
                serde_amqp::descriptor::Descriptor::Code(code) => *code == SESSION_FILTER_CODE,
                serde_amqp::descriptor::Descriptor::Name(name) => name.as_str() == SESSION_FILTER,
            };
            if !known {
                tracing::debug!("session filter with an unknown descriptor; using its value");
            }
            &described.value
        }
        other => other,
    };
    Some(match value {
        Value::String(id) => Some(id.clone()),
        Value::Symbol(id) => Some(id.as_str().to_owned()),
        _ => None,
    })
}

/// The client's `com.microsoft:timeout` link property (milliseconds, any integer type).
fn requested_timeout(attach: &Attach) -> Option<Duration> {
    let value = attach.properties.as_ref()?.get(&Symbol::from(TIMEOUT))?;
    let ms = match *value {
        Value::Uint(v) => u64::from(v),
        Value::Ulong(v) => v,
        Value::Int(v) => u64::try_from(v).ok()?,
        Value::Long(v) => u64::try_from(v).ok()?,
        Value::Ushort(v) => u64::from(v),
        _ => return None,
    };
    Some(Duration::from_millis(ms))
}

fn refuse(cx: &mut Context<'_>, link: LinkId, condition: &str, text: &str) {
    if let Err(error) = cx.refuse_attach(link, errors::service_error(condition, text)) {
        tracing::debug!(%link, %error, "attach could not be refused");
    }
}

fn refuse_with(cx: &mut Context<'_>, link: LinkId, error: &EntityError) {
    refuse(cx, link, error.condition(), &error.to_string());
}
