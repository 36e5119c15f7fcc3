//! The broker's limits over real sockets: concurrent connections, handshake time (plain and
//! TLS), idle time, frame size (`connection`); sessions and links per connection, message
//! size (also split across frames), transfers without credit, entity size (`links`); bounded
//! `$management` replies (`management`). Each test configures small limits so that it runs
//! in milliseconds, and checks the AMQP condition a client over the limit gets.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use crate::amqp_support;
mod connection;
mod links;
mod management;

use amqp_support::raw::{begin, condition_text, frame, RawClient};
use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::limits::Limits;
use fe2o3_amqp_types::performatives::{Detach, Performative};

pub const ENTITIES: &str =
    "[[queues]]\nname = \"q\"\n\n[[queues]]\nname = \"small\"\nmax_size_bytes = 1000\n";

pub use crate::wait::within;

pub async fn start_with(limits: Limits, max_message_size: u64) -> RunningBroker {
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .limits(limits)
        .max_message_size(max_message_size)
        .start()
        .await
        .unwrap()
}

pub async fn start(limits: Limits) -> RunningBroker {
    start_with(limits, 256 * 1024).await
}

/// An opened connection with a session on channel 0.
pub async fn session(port: u16) -> RawClient {
    let (mut c, _) = RawClient::opened(port, None).await;
    c.write(&frame(0, &begin(), &[])).await;
    assert!(matches!(c.next().await, Some((Performative::Begin(_), _))));
    c
}

/// The next attach or detach from the broker (flows and dispositions are skipped).
pub async fn next_link_frame(c: &mut RawClient) -> Performative {
    loop {
        match within("an attach or detach", c.next()).await {
            Some((p @ (Performative::Attach(_) | Performative::Detach(_)), _)) => return p,
            Some((Performative::Close(close), _)) => panic!("connection closed: {close:?}"),
            Some(_) => continue,
            None => panic!("the connection ended"),
        }
    }
}

/// The broker's detach with its error condition and description.
pub async fn expect_detach(c: &mut RawClient) -> (String, String) {
    loop {
        if let Performative::Detach(Detach {
            error: Some(error), ..
        }) = next_link_frame(c).await
        {
            let condition = condition_text(&error);
            return (condition, error.description.unwrap_or_default());
        }
    }
}
