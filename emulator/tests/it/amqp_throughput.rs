//! Throughput of the AMQP engine (a benchmark, not a test: run with
//! `cargo test --release -p berth-emulator --test it amqp_throughput -- --ignored --nocapture`).
#![allow(clippy::unwrap_used)] // benchmark helpers outside #[test] fns

use crate::amqp_support;

use std::time::Instant;

use amqp_support::{
    raw::{attach, begin, frame, link_flow, transfer, RawClient},
    TestBroker,
};
use berth_emulator::amqp::ConnectionConfig;
use bytes::Bytes;
use fe2o3_amqp::{connection::Connection, session::Session, Receiver, Sender};
use fe2o3_amqp_types::{
    definitions::Role,
    performatives::{Begin, Flow, Performative},
};

const MESSAGES: usize = 50_000;

fn body() -> String {
    "x".repeat(200)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn engine_only_incoming_and_outgoing_rates() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let port = broker.listener.local_addr().port();

    // Incoming: one buffer of pre-encoded unsettled transfers, answered by dispositions.
    let (mut c, _) = RawClient::opened(port, None).await;
    let mut setup = frame(0, &begin(), &[]);
    setup.extend(frame(0, &attach("s", 0, Role::Sender, "bench"), &[]));
    c.write(&setup).await;
    let mut payload = vec![0x00, 0x53, 0x75, 0xa0, 200];
    payload.extend([7u8; 200]);
    let mut wire = Vec::new();
    for id in 0..MESSAGES as u32 {
        let t = transfer(0, id, &id.to_be_bytes());
        wire.extend(frame(0, &t, &payload));
    }
    // Credit: the test handler keeps a window of 50; the raw client ignores it (the
    // engine is lenient about it), so this measures decode + dispatch + settle.
    // Dispositions are coalesced into ranges, so writing everything before reading
    // cannot fill the return path.
    let start = Instant::now();
    c.write(&wire).await;
    let mut settled = 0usize;
    while settled < MESSAGES {
        if let (Performative::Disposition(d), _) = c.next().await.unwrap() {
            settled += (d.last.unwrap_or(d.first) - d.first + 1) as usize;
        }
    }
    let incoming = start.elapsed();
    println!(
        "engine incoming: {MESSAGES} transfers settled in {incoming:?} = {:.0} msg/s",
        MESSAGES as f64 / incoming.as_secs_f64()
    );

    // Outgoing: the broker sends everything it holds as soon as the credit arrives.
    for _ in 0..MESSAGES {
        broker.broker.push("out", Bytes::from(payload.clone()));
    }
    let (mut c, _) = RawClient::opened(port, None).await;
    // This client never re-opens its session window, so open it wide from the start.
    let wide = Begin {
        incoming_window: u32::MAX / 2,
        ..begin()
    };
    let mut setup = frame(0, &wide, &[]);
    setup.extend(frame(0, &attach("r", 0, Role::Receiver, "out"), &[]));
    let credit = Flow {
        incoming_window: u32::MAX / 2,
        ..link_flow(0, None, MESSAGES as u32, false)
    };
    setup.extend(frame(0, &credit, &[]));
    let start = Instant::now();
    c.write(&setup).await;
    let mut received = 0;
    while received < MESSAGES {
        if let (Performative::Transfer(_), _) = c.next().await.unwrap() {
            received += 1;
        }
    }
    let outgoing = start.elapsed();
    println!(
        "engine outgoing: {MESSAGES} transfers in {outgoing:?} = {:.0} msg/s",
        MESSAGES as f64 / outgoing.as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn fe2o3_client_round_trip_rate() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let stream = tokio::net::TcpStream::connect(broker.listener.local_addr())
        .await
        .unwrap();
    stream.set_nodelay(true).unwrap();
    let mut connection = Connection::builder()
        .container_id("bench")
        .open_with_stream(stream)
        .await
        .unwrap();
    let mut session = Session::begin(&mut connection).await.unwrap();
    let mut sender = Sender::attach(&mut session, "s", "rt").await.unwrap();
    let start = Instant::now();
    let mut outcomes = Vec::with_capacity(MESSAGES);
    for _ in 0..MESSAGES {
        outcomes.push(sender.send_batchable(body()).await.unwrap());
    }
    for o in outcomes {
        o.await.unwrap();
    }
    let sent = start.elapsed();
    let mut receiver = Receiver::attach(&mut session, "r", "rt").await.unwrap();
    let start = Instant::now();
    for _ in 0..MESSAGES {
        let d = receiver.recv::<String>().await.unwrap();
        receiver.accept(&d).await.unwrap();
    }
    let received = start.elapsed();
    println!(
        "fe2o3 client: send {:.0} msg/s, receive+accept {:.0} msg/s",
        MESSAGES as f64 / sent.as_secs_f64(),
        MESSAGES as f64 / received.as_secs_f64()
    );
    connection.close().await.unwrap();
}
