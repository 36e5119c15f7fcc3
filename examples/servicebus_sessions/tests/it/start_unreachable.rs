//! Starting while the broker cannot be reached (a network blip as the pod starts): the host
//! does not exit. It keeps connecting with backoff, logging each failed attempt, serves
//! `/healthz` 200 and `/readyz` 503 with the reason, connects by itself once the broker is
//! there, processes what was sent, turns ready, and a SIGTERM still exits 0. Credentials the
//! broker refuses are retried the same way (a role assignment can take minutes to apply),
//! with the refusal in `/readyz`. A malformed connection string, which no retry can fix,
//! still stops it at once with exit 1.
#![allow(clippy::unwrap_used)]

use crate::orders;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use examples_testkit::{count, temp_dir, wait, write_file, Emulator};
use orders::*;

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over a fresh connection: the status code and the body.
fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    (
        status.unwrap_or_else(|| panic!("no status in {response:?}")),
        body.to_owned(),
    )
}

/// Polls `path` every 50 ms until `done` holds; panics with the last answer after a minute.
fn poll(address: SocketAddr, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let what = format!("{path} to get there");
    wait::poll(&what, Duration::from_secs(60), || {
        let (status, body) = get(address, path);
        if done(status, &body) {
            Ok(body)
        } else {
            Err(format!("{status}: {body}"))
        }
    })
}

#[test]
fn a_host_started_before_its_broker_waits_unready_then_connects_by_itself() {
    let dir = temp_dir("start-unreachable");
    let broker_port = free_port();
    let ops: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let cs = format!(
        "Endpoint=sb://127.0.0.1:{broker_port};SharedAccessKeyName=RootManageSharedAccessKey;\
         SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"
    );
    let config =
        format!("[ops]\naddress = \"{ops}\"\n[service_bus]\nsession_idle_timeout = \"1s\"\n");
    let mut app = host(&dir, &cs, &config);

    // Nothing listens: it retries, and says so, instead of exiting.
    app.wait_for(|seen| count(seen, "connecting to Service Bus failed") >= 2);
    assert_eq!(get(ops, "/healthz").0, 200);
    let (status, why) = get(ops, "/readyz");
    assert_eq!(status, 503, "{why}");
    assert!(why.contains("not connected (connecting, attempt"), "{why}");
    assert!(why.contains(&format!("127.0.0.1:{broker_port}")), "{why}");

    // The broker comes up on that port: the host connects and processes by itself.
    let broker = broker(&dir, broker_port, "30s");
    send_orders(&dir, &cs, 1..=1);
    app.wait_for(|seen| received(seen) == CUSTOMERS as usize);
    poll(ops, "/readyz", |status, _| status == 200);
    let failed = failed_attempts(app.seen());
    assert!(failed >= 2, "{failed} failed attempts logged");
    app.stop();
    broker.stop();
}

/// The failed connection attempts logged, each with its attempt number and the wait.
fn failed_attempts(seen: &[serde_json::Value]) -> usize {
    let failed: Vec<_> = seen
        .iter()
        .filter(|l| l["message"] == "connecting to Service Bus failed")
        .collect();
    for (n, line) in failed.iter().enumerate() {
        assert_eq!(line["attempt"], n as u64 + 1, "{line}");
        assert!(line["retry_in_ms"].is_u64(), "{line}");
        assert!(line["error"].is_string(), "{line}");
    }
    failed.len()
}

#[test]
fn refused_credentials_keep_the_host_up_and_unready_with_the_reason() {
    let dir = temp_dir("start-unauthorized");
    let mut command = app();
    command
        .args([
            "emulator",
            "--port",
            "0",
            "--no-admin",
            "--session-queue",
            QUEUE,
        ])
        .args(["--sas-rule", "RootManageSharedAccessKey=the-right-key"])
        .env("RUST_LOG", "warn");
    let broker = Emulator::spawn(command);
    let cs = broker
        .connection_string
        .replace("the-right-key", "a-wrong-key");
    let ops: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut app = host(&dir, &cs, &format!("[ops]\naddress = \"{ops}\"\n"));
    app.wait_for(|seen| count(seen, "accepting a session failed") >= 2);
    let refused = seen_with(app.seen(), "accepting a session failed");
    assert!(refused.contains("401"), "{refused}");
    assert_eq!(get(ops, "/healthz").0, 200);
    let why = poll(ops, "/readyz", |status, body| {
        status == 503 && body.contains("401")
    });
    assert!(why.contains("receiver not live"), "{why}");
    app.stop();
    broker.stop();
}

/// The `error` of the first log line with `message`.
fn seen_with(seen: &[serde_json::Value], message: &str) -> String {
    let line = seen.iter().find(|l| l["message"] == message).unwrap();
    line["error"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_malformed_connection_string_still_stops_the_host_at_once() {
    let dir = temp_dir("start-bad-connection-string");
    let out = app()
        .args(["start", "--log-format", "json", "--config"])
        .arg(write_file(&dir, "host.toml", ""))
        .env("ServiceBusConnection", "Endpoint=nonsense")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("the connection string in the app setting is invalid"),
        "{stdout}"
    );
}
