//! The upper layer's view of a connection: the [`ConnectionHandler`] callbacks and the
//! [`Context`] through which it acts.

use std::{
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use bytes::Bytes;
use fe2o3_amqp_types::{
    definitions::Fields,
    performatives::{Attach, Open},
};
use tokio::sync::Notify;

use super::{
    delivery::{DeliveryUpdate, IncomingDelivery},
    engine::{Engine, Event},
    link::{AttachReply, LinkFlow, LinkId, LinkInfo},
    outcome::{ErrorInfo, Outcome},
};

/// Callbacks of one connection. All run on the connection's task, one at a time; act on
/// the connection through the [`Context`]. Callbacks must not block: to wait for
/// something, keep state, let another task call [`ConnectionWaker::wake`], and continue
/// in [`ConnectionHandler::on_wake`].
pub trait ConnectionHandler: Send + 'static {
    /// The client's `open` arrived (after SASL, if any). Our `open` is already sent.
    fn on_open(&mut self, cx: &mut Context<'_>, peer: &PeerInfo) {
        let _ = (cx, peer);
    }

    /// The client attached a link. Answer now or later with [`Context::accept_attach`]
    /// or [`Context::refuse_attach`]; until then the link is pending (flows and transfers
    /// the client pipelines are kept and replayed after the answer).
    fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach);

    /// A complete message arrived on a link where we receive. Unless
    /// `delivery.settled`, settle it with [`Context::settle_incoming`].
    fn on_transfer(&mut self, cx: &mut Context<'_>, link: LinkId, delivery: IncomingDelivery);

    /// The client disposed of one of our deliveries (ranges are expanded per delivery).
    /// The default echoes the client's outcome when the client left it unsettled.
    fn on_disposition(&mut self, cx: &mut Context<'_>, link: LinkId, update: DeliveryUpdate) {
        if let (false, Some(outcome)) = (update.settled, update.outcome) {
            let _ = cx.echo_settled(link, update.delivery_id, outcome);
        }
    }

    /// The client granted credit or asked for a drain on a link where we send. The
    /// default finishes a drain at once.
    fn on_flow(&mut self, cx: &mut Context<'_>, link: LinkId, flow: LinkFlow) {
        if flow.drain {
            let _ = cx.finish_drain(link);
        }
    }

    /// The link is gone: the client detached it (we already answered), its session
    /// ended, the connection is closing, or the engine detached it because the client
    /// broke a limit (message size, transfers without credit, unfinished deliveries; then
    /// `closed` is true and `error` is what the client was told). Otherwise `closed` is
    /// the client's `closed` flag.
    fn on_detach(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        closed: bool,
        error: Option<ErrorInfo>,
    ) {
        let _ = (cx, link, closed, error);
    }

    /// Someone called [`ConnectionWaker::wake`] (coalesced: one call per wake-up).
    fn on_wake(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }

    /// The connection ended. `error` is the client's close error, or the error we closed
    /// with. Every link already got [`ConnectionHandler::on_detach`].
    fn on_close(&mut self, error: Option<&ErrorInfo>) {
        let _ = error;
    }
}

/// The client's identity and connection parameters.
#[derive(Clone, Debug, Default)]
pub struct PeerInfo {
    /// `open.container-id`.
    pub container_id: String,
    /// `open.hostname`.
    pub hostname: Option<String>,
    /// The client's `max-frame-size`.
    pub max_frame_size: u32,
    /// The client's `channel-max`.
    pub channel_max: u16,
    /// The client's idle timeout (we send empty frames at half of it).
    pub idle_timeout: Option<Duration>,
    /// `open.properties`.
    pub properties: Option<Fields>,
    /// SASL mechanism used (`ANONYMOUS`, `PLAIN`), `None` without SASL.
    pub sasl_mechanism: Option<String>,
    /// PLAIN user name, or the ANONYMOUS trace text (rhea sends the key name there).
    pub sasl_identity: Option<String>,
}

impl PeerInfo {
    pub(crate) fn apply_open(&mut self, open: &Open) {
        self.container_id = open.container_id.clone();
        self.hostname = open.hostname.clone();
        self.max_frame_size = open.max_frame_size.0;
        self.channel_max = open.channel_max.0;
        self.idle_timeout = open
            .idle_time_out
            .filter(|ms| *ms > 0)
            .map(|ms| Duration::from_millis(u64::from(ms)));
        self.properties = open.properties.clone();
    }
}

/// Why an action on the [`Context`] was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionError {
    /// No such link on this connection (never existed or already gone).
    UnknownLink,
    /// The attach was already answered.
    AlreadyAnswered,
    /// The link is pending or detaching.
    NotAttached,
    /// The action needs the other role (e.g. `send` on a link where we receive).
    WrongRole,
    /// The link has no credit.
    NoCredit,
    /// Delivery tags may have at most 32 bytes.
    TagTooLong,
    /// No unsettled delivery with that id on that link.
    UnknownDelivery,
    /// The connection is closing.
    Closing,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::UnknownLink => "unknown link",
            Self::AlreadyAnswered => "attach already answered",
            Self::NotAttached => "link not attached",
            Self::WrongRole => "wrong link role for this action",
            Self::NoCredit => "no link credit",
            Self::TagTooLong => "delivery tag longer than 32 bytes",
            Self::UnknownDelivery => "no such unsettled delivery on this link",
            Self::Closing => "connection closing",
        })
    }
}

impl std::error::Error for ActionError {}

/// Wakes a connection from another task; the handler's [`ConnectionHandler::on_wake`]
/// runs once per wake-up, however many `wake` calls came in. Cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct ConnectionWaker {
    shared: Arc<WakeShared>,
}

#[derive(Debug, Default)]
struct WakeShared {
    notify: Notify,
    pending: AtomicBool,
    closed: AtomicBool,
}

impl ConnectionWaker {
    /// Schedules one `on_wake` call.
    pub fn wake(&self) {
        if !self.shared.pending.swap(true, Ordering::AcqRel) {
            self.shared.notify.notify_one();
        }
    }

    /// The connection has ended; waking it does nothing any more.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }

    pub(crate) async fn woken(&self) {
        self.shared.notify.notified().await;
    }

    /// Clears the pending flag; returns whether a wake was pending.
    pub(crate) fn take(&self) -> bool {
        self.shared.pending.swap(false, Ordering::AcqRel)
    }

    pub(crate) fn mark_closed(&self) {
        self.shared.closed.store(true, Ordering::Release);
    }
}

/// The handler's handle on the connection during a callback.
pub struct Context<'a> {
    pub(crate) engine: &'a mut Engine,
}

impl Context<'_> {
    /// The client's identity and parameters (complete once `on_open` ran).
    pub fn peer(&self) -> &PeerInfo {
        &self.engine.peer
    }

    /// What we know about `link`.
    pub fn link_info(&self, link: LinkId) -> Option<&LinkInfo> {
        self.engine.link(link).map(|l| &l.info)
    }

    /// Answers a pending attach positively.
    pub fn accept_attach(&mut self, link: LinkId, reply: AttachReply) -> Result<(), ActionError> {
        self.engine.accept_attach(link, reply)
    }

    /// Refuses a pending attach: sends an attach echoing the client's source and target,
    /// then `detach(closed=true, error)`.
    pub fn refuse_attach(&mut self, link: LinkId, error: ErrorInfo) -> Result<(), ActionError> {
        self.engine.refuse_attach(link, error)
    }

    /// Detaches (closes) an attached link, optionally with an error. No further
    /// callbacks arrive for it.
    pub fn detach(&mut self, link: LinkId, error: Option<ErrorInfo>) -> Result<(), ActionError> {
        self.engine.detach(link, error)
    }

    /// Credit available on a link (what we may send as sender; what we granted as receiver).
    /// As sender it reads 0 while the client is not taking what was already sent (output
    /// or session window full); an [`on_flow`](ConnectionHandler::on_flow) follows once
    /// it does.
    pub fn credit(&self, link: LinkId) -> u32 {
        self.engine.usable_credit(link)
    }

    /// Receiver role: keep the client's credit topped up to `window` (re-granted when
    /// half is used). 0 stops automatic grants.
    pub fn set_credit_window(&mut self, link: LinkId, window: u32) -> Result<(), ActionError> {
        self.engine.set_credit_window(link, window)
    }

    /// Receiver role: grants `credit` more deliveries now.
    pub fn add_credit(&mut self, link: LinkId, credit: u32) -> Result<(), ActionError> {
        self.engine.add_credit(link, credit)
    }

    /// Sender role: sends one message (`payload` = encoded sections) with our `tag`.
    /// Consumes one credit; splits into frames as the client's frame size requires.
    /// Returns the delivery id (what dispositions will refer to).
    pub fn send(
        &mut self,
        link: LinkId,
        tag: &[u8],
        payload: Bytes,
        message_format: u32,
        settled: bool,
    ) -> Result<u32, ActionError> {
        self.engine
            .send(link, tag, payload, message_format, settled)
    }

    /// Receiver role: settles a message the client sent unsettled. Consecutive ids with
    /// equal outcomes go out as one ranged disposition.
    pub fn settle_incoming(
        &mut self,
        link: LinkId,
        delivery_id: u32,
        outcome: Outcome,
    ) -> Result<(), ActionError> {
        self.engine.settle_incoming(link, delivery_id, outcome)
    }

    /// Sender role: settles one of our unsettled deliveries with `outcome`
    /// (`disposition(role=sender, settled=true)`), e.g. to answer a client's unsettled
    /// disposition. Consecutive ids with equal outcomes are coalesced.
    pub fn echo_settled(
        &mut self,
        link: LinkId,
        delivery_id: u32,
        outcome: Outcome,
    ) -> Result<(), ActionError> {
        self.engine.echo_settled(link, delivery_id, outcome)
    }

    /// Number of our deliveries on `link` the client has not settled yet.
    pub fn unsettled_outgoing(&self, link: LinkId) -> usize {
        self.engine.unsettled_outgoing(link)
    }

    /// Sender role: completes a drain the client asked for: the remaining credit is
    /// consumed (delivery count advances) and a `flow(drain=true, link-credit=0)` is sent.
    pub fn finish_drain(&mut self, link: LinkId) -> Result<(), ActionError> {
        self.engine.finish_drain(link)
    }

    /// A waker other tasks can use to get [`ConnectionHandler::on_wake`] called.
    pub fn waker(&self) -> ConnectionWaker {
        self.engine.waker.clone()
    }

    /// Closes the connection (every link gets `on_detach`, then `on_close`).
    pub fn close(&mut self, error: Option<ErrorInfo>) {
        self.engine.close(error);
    }
}

/// Runs the handler for every queued event until the queue is empty.
pub(crate) fn dispatch<H: ConnectionHandler>(engine: &mut Engine, handler: &mut H) {
    while let Some(event) = engine.events.pop_front() {
        let mut cx = Context {
            engine: &mut *engine,
        };
        match event {
            Event::Open => {
                let peer = cx.engine.peer.clone();
                handler.on_open(&mut cx, &peer);
            }
            Event::Attach(link, attach) => handler.on_attach(&mut cx, link, &attach),
            Event::Transfer(link, delivery) => {
                if cx.engine.link(link).is_some() {
                    handler.on_transfer(&mut cx, link, delivery);
                }
            }
            Event::Disposition(link, update) => {
                if cx.engine.link(link).is_some() {
                    handler.on_disposition(&mut cx, link, update);
                }
            }
            Event::Flow(link) => {
                // Report the state as it is now, not as it was when the frame arrived.
                if let Some(l) = cx.engine.link(link) {
                    let flow = LinkFlow {
                        credit: l.credit,
                        drain: l.drain,
                    };
                    handler.on_flow(&mut cx, link, flow);
                }
            }
            Event::Detach(link, closed, error) => handler.on_detach(&mut cx, link, closed, error),
        }
    }
}
