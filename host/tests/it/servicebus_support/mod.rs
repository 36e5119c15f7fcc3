//! Shared by the `servicebus_*` tests: an in-process broker on a free port and a client.
#![allow(dead_code)]

pub mod cut;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use berth::Message;
use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::entity::EntityCounts;
use berth_host::logging::JsonLayer;
use berth_host::runtime::{Received, SessionSource, SourceSession};
use berth_host::servicebus::{AmqpSession, AmqpSessionSource, ConnectionString, ServiceBusClient};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

/// A session queue `orders` (max delivery count 5) and a plain queue `plain`.
pub const ENTITIES: &str = r#"
[[queues]]
name = "orders"
requires_session = true
max_delivery_count = 5

[[queues]]
name = "plain"
max_delivery_count = 5
"#;

/// How long a test waits for a message that should be there.
pub const WAIT: Duration = Duration::from_secs(5);

/// Starts a broker on `address` (port 0: any), in memory or in `data_dir`.
pub async fn start_at(address: &str, entities: &str, data_dir: Option<&PathBuf>) -> RunningBroker {
    let mut builder = Broker::builder()
        .address(address.parse().unwrap())
        .entities_toml(entities)
        .unwrap();
    if let Some(dir) = data_dir {
        builder = builder.data_dir(dir);
    }
    builder.start().await.unwrap()
}

/// Starts an in-memory broker on a free port.
pub async fn start(entities: &str) -> RunningBroker {
    start_at("127.0.0.1:0", entities, None).await
}

/// A connected client for `broker`.
pub async fn client(broker: &RunningBroker) -> ServiceBusClient {
    let cs = ConnectionString::parse(&broker.connection_string()).unwrap();
    ServiceBusClient::connect(cs).await.unwrap()
}

/// The broker's counts for `path`.
pub fn counts(broker: &RunningBroker, path: &str) -> EntityCounts {
    broker.namespace().receiver(path).unwrap().counts().unwrap()
}

/// A session source that lets the broker hold a next-available attach for 2 s.
pub fn source(client: &ServiceBusClient, entity: &str) -> AmqpSessionSource {
    AmqpSessionSource::new(client.clone(), entity.into(), 0)
        .with_accept_timeout(Duration::from_secs(2))
}

/// Message `n` of `session`: body and id `<session>-<n>`, property `n`.
pub fn msg(session: &str, n: u32) -> Message {
    Message::with_body(format!("{session}-{n}"))
        .session(session)
        .id(format!("{session}-{n}"))
        .property("n", i64::from(n))
}

/// Sends `s1-0` to `orders`, accepts the next session and receives that message (left
/// unsettled): the session and what it received.
pub async fn send_and_receive_one(client: &ServiceBusClient) -> (AmqpSession, Received) {
    client.sender("orders").send(&msg("s1", 0)).await.unwrap();
    let mut session = source(client, "orders")
        .accept_next()
        .await
        .unwrap()
        .unwrap();
    let received = session.receive(WAIT).await.unwrap().unwrap();
    assert_eq!(received.message.body_str(), Some("s1-0"));
    (session, received)
}

/// A fresh directory under the system temp dir.
pub fn temp_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("berth-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every JSON log line (info and up) written since the first call, by any test of this
/// binary; the subscriber is global because triggers run on the runtime's worker threads.
pub fn logged() -> &'static Mutex<Vec<u8>> {
    static LINES: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();
    static INSTALLED: OnceLock<()> = OnceLock::new();
    let lines = LINES.get_or_init(Mutex::default);
    INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry()
            // The broker's put-token events too (`servicebus_identity` counts them).
            .with(tracing_subscriber::EnvFilter::new(
                "info,berth_emulator::node::cbs=debug",
            ))
            .with(JsonLayer::new(Capture));
        tracing::subscriber::set_global_default(subscriber).unwrap();
    });
    lines
}

/// Where [`logged`]'s subscriber writes.
pub struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        logged().lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        Capture
    }
}
