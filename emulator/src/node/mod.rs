//! The Service Bus layer: `$cbs`, `<entity>/$management`, entity sender and receiver links and
//! the message encoding between AMQP deliveries and the entity layer.
//!
//! [`NodeHandler`] is the [`ConnectionHandler`] of one client connection. It classifies each
//! attach by its normalised address ([`address`]), authorises it against the connection's
//! `$cbs` tokens ([`cbs`]), and then:
//! * `$cbs` / `$management` sender links carry requests; replies go out on the matching
//!   receiver link ([`replies`]);
//! * entity sender links enqueue messages (`incoming`);
//! * entity receiver links (plain or session, peek-lock or receive-and-delete) hand out
//!   messages as credit allows and settle them from the client's dispositions (`outgoing`);
//!   session receivers are accepted by id or next-available, holding the attach while no session
//!   is available (`attach`).
//!
//! Everything runs on the connection's task: the entity layer's waiters and the deadline
//! `wake::Alarm` only schedule [`ConnectionHandler::on_wake`], which retries whatever waits.

pub mod address;
mod attach;
pub mod cbs;
pub mod codec;
pub mod dev_jwt;
mod durable;
mod errors;
mod guard;
mod incoming;
mod management;
mod management_ops;
mod management_rules;
mod outgoing;
pub mod replies;
pub mod request;
mod time;
mod wake;
pub mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use fe2o3_amqp_types::performatives::Attach;
use fe2o3_amqp_types::primitives::Value;

use crate::amqp::{
    ConnectionHandler, Context, DeliveryUpdate, ErrorInfo, IncomingDelivery, LinkFlow, LinkId,
    Outcome,
};
use crate::entity::Namespace;
use crate::sas::SasRule;
use crate::store::Commit;
use attach::PendingSession;
use cbs::Authorizations;
use durable::Durable;
use outgoing::ReceiverLink;
use replies::Replies;
use request::Status;

/// Settings shared by every connection of a broker.
#[derive(Clone)]
pub struct NodeConfig {
    /// The entities.
    pub namespace: Namespace,
    /// SAS rules tokens must verify against; empty = development mode (no checks).
    pub rules: Arc<[SasRule]>,
    /// Check JWT-shaped `$cbs` tokens as development JWTs ([`dev_jwt`]: audience and expiry,
    /// no signature) and accept the valid ones, with or without rules.
    pub dev_jwt: bool,
    /// Largest message, or batch of messages, a client may send (announced to senders as
    /// `com.microsoft:max-message-batch-size`). Attach replies announce, and transfers are
    /// held to, this plus [`ENVELOPE_ALLOWANCE`]: SDKs fill batches up to the limit and then
    /// wrap them in an envelope.
    pub max_message_size: u64,
    /// How long a next-available session attach waits when the client sends no
    /// `com.microsoft:timeout` (Service Bus: about 65 s).
    pub next_session_timeout: Duration,
}

/// Room above [`NodeConfig::max_message_size`] for a batch transfer's envelope (Python fills a
/// batch to 256 KiB of messages and sends a slightly larger transfer, which Service Bus takes).
pub const ENVELOPE_ALLOWANCE: u64 = 64 * 1024;

impl NodeConfig {
    /// The `max-message-size` of attach replies: the largest transfer accepted.
    pub fn transfer_limit(&self) -> u64 {
        self.max_message_size.saturating_add(ENVELOPE_ALLOWANCE)
    }

    /// A configuration with Service Bus's defaults (256 KiB messages, 65 s session wait).
    pub fn new(namespace: Namespace, rules: Vec<SasRule>) -> Self {
        Self {
            namespace,
            rules: rules.into(),
            dev_jwt: false,
            max_message_size: 256 * 1024,
            next_session_timeout: Duration::from_secs(65),
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("rules", &self.rules)
            .field("dev_jwt", &self.dev_jwt)
            .field("max_message_size", &self.max_message_size)
            .field("next_session_timeout", &self.next_session_timeout)
            .finish_non_exhaustive()
    }
}

/// What a link carrying requests talks to.
#[derive(Debug, Clone)]
enum RequestNode {
    /// `$cbs`.
    Cbs,
    /// `<path>/$management`.
    Management(String),
}

/// Something to do once a commit is durable.
#[derive(Debug)]
enum Action {
    /// Accept a client's transfer.
    Settle { link: LinkId, delivery_id: u32 },
    /// Answer a client's unsettled disposition with `outcome`.
    Echo {
        link: LinkId,
        delivery_id: u32,
        outcome: Outcome,
    },
    /// Send a `$management` reply.
    Reply {
        link: LinkId,
        request_id: Option<fe2o3_amqp_types::messaging::MessageId>,
        status: Status,
        body: Value,
    },
}

/// Per-connection machinery created on first use (it needs the connection's waker).
struct Wiring {
    waker: Waker,
    alarm: wake::Alarm,
    durable: Durable<Action>,
}

/// The Service Bus node layer for one connection.
pub struct NodeHandler {
    config: Arc<NodeConfig>,
    auth: Authorizations,
    replies: Replies,
    requests: HashMap<LinkId, RequestNode>,
    senders: HashMap<LinkId, crate::entity::Sender>,
    receivers: HashMap<LinkId, ReceiverLink>,
    pending: Vec<PendingSession>,
    wiring: Option<Wiring>,
    /// Reused list of receiver links while polling them.
    scratch_links: Vec<LinkId>,
    /// Bodies of messages locked through `$management` (see [`management::Bodies`]).
    held_bodies: HashMap<crate::entity::LockToken, bytes::Bytes>,
    /// Links that hold on a `$cbs` token (detached when it expires).
    guards: guard::Guards,
}

impl NodeHandler {
    /// A handler for a new connection.
    pub fn new(config: Arc<NodeConfig>) -> Self {
        Self {
            auth: Authorizations::new(config.rules.clone()).with_dev_jwt(config.dev_jwt),
            config,
            replies: Replies::default(),
            requests: HashMap::new(),
            senders: HashMap::new(),
            receivers: HashMap::new(),
            pending: Vec::new(),
            wiring: None,
            scratch_links: Vec::new(),
            held_bodies: HashMap::new(),
            guards: guard::Guards::default(),
        }
    }

    fn wiring(&mut self, cx: &Context<'_>) -> &mut Wiring {
        self.wiring.get_or_insert_with(|| {
            let waker = cx.waker();
            Wiring {
                waker: wake::task_waker(waker.clone()),
                alarm: wake::Alarm::start(waker.clone()),
                durable: Durable::new(waker),
            }
        })
    }

    /// Runs `action` now if `commit` is durable, else once it is.
    fn after_commit(&mut self, cx: &mut Context<'_>, commit: Commit, action: Action) {
        if let Some(action) = self.wiring(cx).durable.after(commit, action) {
            self.run(cx, action, Ok(()));
        }
    }

    fn run(
        &mut self,
        cx: &mut Context<'_>,
        action: Action,
        durable: Result<(), crate::entity::EntityError>,
    ) {
        let failure = durable.err().map(|e| errors::entity_error(&e));
        let result = match (action, failure) {
            (Action::Settle { link, delivery_id }, None) => {
                cx.settle_incoming(link, delivery_id, Outcome::Accepted)
            }
            (Action::Settle { link, delivery_id }, Some(error)) => {
                cx.settle_incoming(link, delivery_id, Outcome::Rejected(Some(error)))
            }
            (
                Action::Echo {
                    link,
                    delivery_id,
                    outcome,
                },
                None,
            ) => cx.echo_settled(link, delivery_id, outcome),
            (
                Action::Echo {
                    link, delivery_id, ..
                },
                Some(error),
            ) => cx.echo_settled(link, delivery_id, Outcome::Rejected(Some(error))),
            (
                Action::Reply {
                    link,
                    request_id,
                    status,
                    body,
                },
                failure,
            ) => {
                let (status, body) = match failure {
                    None => (status, body),
                    Some(e) => (
                        Status::error(500, &e.condition, e.description.unwrap_or_default()),
                        Value::Null,
                    ),
                };
                let reply = request::encode_reply(request_id, &status, body);
                self.replies.send(cx, link, reply.into());
                Ok(())
            }
        };
        if let Err(error) = result {
            tracing::debug!(%error, "could not complete an action (link gone?)");
        }
    }

    /// Checks everything that waits: durable actions, held attaches, session locks, receivers;
    /// then sets the alarm for the next deadline.
    fn poll(&mut self, cx: &mut Context<'_>) {
        let done = self.wiring(cx).durable.take_done();
        for (action, outcome) in done {
            self.run(cx, action, outcome);
        }
        let mut next = earliest(self.poll_pending(cx), self.check_guards(cx));
        let mut links = std::mem::take(&mut self.scratch_links);
        links.extend(self.receivers.keys().copied());
        for link in links.drain(..) {
            let deadline = self.check_session_lock(cx, link);
            next = earliest(next, deadline);
            self.pump(cx, link, false);
        }
        self.scratch_links = links;
        self.wiring(cx).alarm.set(next);
    }
}

fn earliest(
    a: Option<tokio::time::Instant>,
    b: Option<tokio::time::Instant>,
) -> Option<tokio::time::Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl ConnectionHandler for NodeHandler {
    fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
        self.attach(cx, link, attach);
        // Held attaches wait for a session; authorised links arm the token-expiry watch.
        if !self.pending.is_empty() || self.auth.enforced() {
            self.poll(cx);
        }
    }

    fn on_transfer(&mut self, cx: &mut Context<'_>, link: LinkId, delivery: IncomingDelivery) {
        self.transfer(cx, link, delivery);
    }

    fn on_disposition(&mut self, cx: &mut Context<'_>, link: LinkId, update: DeliveryUpdate) {
        self.disposition(cx, link, update);
    }

    fn on_flow(&mut self, cx: &mut Context<'_>, link: LinkId, flow: LinkFlow) {
        if self.replies.contains(link) {
            self.replies.flush(cx, link);
        }
        if self.receivers.contains_key(&link) {
            self.pump(cx, link, flow.drain);
        } else if flow.drain {
            let _ = cx.finish_drain(link);
        }
    }

    fn on_detach(
        &mut self,
        _cx: &mut Context<'_>,
        link: LinkId,
        _closed: bool,
        _error: Option<ErrorInfo>,
    ) {
        self.forget(link);
    }

    fn on_wake(&mut self, cx: &mut Context<'_>) {
        self.poll(cx);
    }

    fn on_close(&mut self, _error: Option<&ErrorInfo>) {
        for (_, receiver) in self.receivers.drain() {
            receiver.release();
        }
        self.pending.clear();
    }
}

impl NodeHandler {
    /// Drops everything known about a link that is gone (idempotent).
    fn forget(&mut self, link: LinkId) {
        self.guards.remove(link);
        self.replies.remove(link);
        self.requests.remove(&link);
        self.senders.remove(&link);
        self.pending.retain(|p| p.link != link);
        if let Some(receiver) = self.receivers.remove(&link) {
            receiver.release();
        }
    }
}
