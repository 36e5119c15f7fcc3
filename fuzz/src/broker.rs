//! The embedded broker's real entry point for one connection, [`serve_connection`] with the
//! Service Bus [`NodeHandler`], fed a byte stream as a socket would deliver it.
//!
//! Each run gets a fresh in-memory namespace (queue `q`, session queue `sq`, topic `t` with
//! subscription `s`) on a fresh current-thread runtime with a paused clock, so runs do not
//! influence each other and timers (handshake, idle, next-session waits) cost no real time.
//! The client's side is written whole and then shut, so the connection always ends.

use std::sync::Arc;

use berth_emulator::{
    amqp::{serve_connection, ConnectionConfig},
    entity::{EntityOptions, Namespace},
    node::{NodeConfig, NodeHandler},
    sas::SasRule,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The SAS rule of [`Auth::Rules`] runs.
pub const RULE: (&str, &str) = ("RootManageSharedAccessKey", "fuzz-key");

/// How the broker authenticates `$cbs` tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Auth {
    /// No rules: development mode, tokens are not checked.
    Open,
    /// One SAS rule ([`RULE`]) and development JWTs on: tokens are parsed and verified.
    Rules,
}

/// Keep at most this much of the broker's output (enough for every seed).
const OUTPUT_CAP: usize = 1 << 20;

/// Serves one connection whose client sends `input` and then shuts its side; returns what
/// the broker wrote back (at most 1 MiB).
pub fn serve(input: &[u8], auth: Auth) -> Vec<u8> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime");
    runtime.block_on(async {
        let namespace = namespace();
        let rules = match auth {
            Auth::Open => Vec::new(),
            Auth::Rules => vec![SasRule::new(RULE.0, RULE.1)],
        };
        let mut node = NodeConfig::new(namespace, rules);
        node.dev_jwt = auth == Auth::Rules;
        let node = Arc::new(node);
        let config = Arc::new(ConnectionConfig {
            max_message_size: node.transfer_limit(),
            ..ConnectionConfig::default()
        });
        let (client, server) = tokio::io::duplex(64 * 1024);
        let (mut from_broker, mut to_broker) = tokio::io::split(client);
        let write = async {
            let _ = to_broker.write_all(input).await;
            let _ = to_broker.shutdown().await;
        };
        let read = async {
            let mut out = Vec::new();
            let mut chunk = [0u8; 16 * 1024];
            loop {
                match from_broker.read(&mut chunk).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) if out.len() < OUTPUT_CAP => out.extend_from_slice(&chunk[..n]),
                    Ok(_) => {}
                }
            }
            out
        };
        let serve = serve_connection(server, config, NodeHandler::new(node));
        let ((), out, ()) = tokio::join!(write, read, serve);
        out
    })
}

/// A namespace with one entity of each kind.
fn namespace() -> Namespace {
    let namespace = Namespace::in_memory();
    let sessions = EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    };
    namespace
        .create_queue("q", EntityOptions::default())
        .expect("queue q");
    namespace.create_queue("sq", sessions).expect("queue sq");
    namespace.create_topic("t").expect("topic t");
    namespace
        .create_subscription("t", "s", EntityOptions::default())
        .expect("subscription t/s");
    namespace
}
