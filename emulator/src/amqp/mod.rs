//! A generic AMQP 1.0 server connection engine (no Service Bus knowledge).
//!
//! One task per connection owns all protocol state (connection, sessions, links,
//! deliveries) and calls a [`ConnectionHandler`] the upper layer supplies. The handler
//! acts through a [`Context`]; output of one batch of input is written with one write.
//!
//! # Usage
//!
//! ```no_run
//! use std::sync::Arc;
//! use berth_emulator::amqp::*;
//! use fe2o3_amqp_types::performatives::Attach;
//!
//! struct Echo;
//! impl ConnectionHandler for Echo {
//!     fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
//!         let mut reply = AttachReply::echo(attach);
//!         reply.max_message_size = Some(256 * 1024);
//!         reply.credit_window = 100; // we receive: keep 100 credits topped up
//!         let _ = cx.accept_attach(link, reply);
//!     }
//!     fn on_transfer(&mut self, cx: &mut Context<'_>, link: LinkId, d: IncomingDelivery) {
//!         if !d.settled {
//!             let _ = cx.settle_incoming(link, d.delivery_id, Outcome::Accepted);
//!         }
//!     }
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let listener = Listener::bind("127.0.0.1:0", Arc::new(ConnectionConfig::default()), |_| Echo).await?;
//! println!("listening on {}", listener.local_addr());
//! # Ok(()) }
//! ```
//!
//! * **Attach**: [`ConnectionHandler::on_attach`] gets the raw [`Attach`](fe2o3_amqp_types::performatives::Attach).
//!   Answer with [`Context::accept_attach`] (an [`AttachReply`]: source/target to echo or
//!   rewrite, properties, `max-message-size`, settle modes, initial delivery count,
//!   credit window) or [`Context::refuse_attach`] (echo attach + `detach(closed, error)`),
//!   now or later: keep the [`LinkId`], have another task call [`ConnectionWaker::wake`]
//!   (from [`Context::waker`]) and answer in [`ConnectionHandler::on_wake`]. Flows and
//!   transfers the client pipelines meanwhile are kept and replayed after the answer.
//! * **Receiving** (we are [`LinkRole::Receiver`]): credit comes from the reply's
//!   `credit_window` (auto top-up at half), [`Context::set_credit_window`] or
//!   [`Context::add_credit`]. Each complete message arrives in
//!   [`ConnectionHandler::on_transfer`] as an [`IncomingDelivery`] whose `payload` holds
//!   the raw encoded sections; settle with [`Context::settle_incoming`]. Equal outcomes
//!   on consecutive ids are sent as one ranged disposition.
//! * **Sending** (we are [`LinkRole::Sender`]): [`ConnectionHandler::on_flow`] reports
//!   credit and drain requests; [`Context::send`] sends one message with our tag (e.g. a
//!   16-byte lock token) and returns its delivery id; after a drain request send what
//!   you have, then [`Context::finish_drain`].
//! * **Client settlement**: [`ConnectionHandler::on_disposition`] gets one
//!   [`DeliveryUpdate`] per delivery (ranges expanded, [`Outcome`] decoded leniently:
//!   `error.info` may use string or symbol keys). If the client did not settle, answer
//!   with [`Context::echo_settled`] and the outcome to report (e.g. `Rejected(None)` for
//!   a successful dead-letter).
//! * **Teardown**: [`ConnectionHandler::on_detach`] for every link that goes away
//!   (client detach, session end, connection close), then
//!   [`ConnectionHandler::on_close`] once.
//!
//! * **Payloads** are handed over undecoded. `serde_amqp` trusts size fields and can
//!   panic or recurse without bound on malformed input, so run [`validate_encoded`] on
//!   client bytes before decoding them with it (the engine does so for performatives).
//!
//! Protocol violations close the connection with `amqp:connection:framing-error`,
//! `amqp:decode-error` or `amqp:not-allowed`; they never panic and never affect other
//! connections. Limits ([`ConnectionConfig`]: connections, handshake time, frame size,
//! channels, handles, links, message size, unfinished deliveries; and the output held for a
//! client that does not read) keep what a client can make the engine hold bounded; see
//! `crate::limits` for what a client over each one gets.

broker! {
    mod actions;
    mod admission;
    mod config;
    mod connection;
    mod decode;
    mod delivery;
    mod engine;
    mod frame;
    #[doc(hidden)]
    pub mod fuzzing;
    mod handler;
    mod incoming;
    mod link;
    mod listener;
    mod outcome;
    mod output;
    mod sasl;
    mod session;

    pub use config::{ConnectionConfig, PlainCheck, PlainCredentials, SaslPolicy};
    pub use connection::{serve_connection, serve_connection_until};
    pub use delivery::{
        DeliveryTag, DeliveryUpdate, IncomingDelivery, MESSAGE_FORMAT_AMQP, MESSAGE_FORMAT_BATCH,
    };
    pub use handler::{ActionError, ConnectionHandler, ConnectionWaker, Context, PeerInfo};
    pub use link::{AttachReply, LinkFlow, LinkId, LinkInfo, LinkRole};
    pub use listener::Listener;
    pub use outcome::{ErrorInfo, Modified, Outcome};
}

mod untrusted;
mod wellformed;

pub use untrusted::decode_untrusted;
pub use wellformed::{fixed_width, validate_encoded};
