//! What the app-binary tests share: the app's own broker (`emulator`), hosts started with
//! JSON logs, sending orders with `send --jsonl`, `peek`, and reading steps from the logs.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use examples_testkit::{count, run_ok, with_message, write_file, Emulator, RunningApp};
use serde_json::Value;

pub const QUEUE: &str = "orders-with-sessions";
pub const CUSTOMERS: u32 = 10;
pub const STEPS: u32 = 40;
pub const TOTAL: usize = (CUSTOMERS * STEPS) as usize;

pub fn app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"))
}

/// The broker: the app's `emulator` command, durable in `dir/data`, on `port` (0: any),
/// with session locks of `lock_duration`.
pub fn broker(dir: &Path, port: u16, lock_duration: &str) -> Emulator {
    let entities = write_file(
        dir,
        "entities.toml",
        &format!(
            "[[queues]]\nname = \"{QUEUE}\"\nrequires_session = true\nlock_duration = \"{lock_duration}\"\n"
        ),
    );
    let mut command = app();
    command
        .args([
            "emulator",
            "--no-admin",
            "--port",
            &port.to_string(),
            "--config",
        ])
        .arg(entities)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn");
    Emulator::spawn(command)
}

/// The port in `Endpoint=sb://127.0.0.1:<port>;…`.
pub fn port_of(connection_string: &str) -> u16 {
    connection_string
        .split(';')
        .next()
        .and_then(|endpoint| endpoint.rsplit(':').next())
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .unwrap()
}

/// A host (`start --log-format json`) on the broker at `cs`, with this `host.toml`.
pub fn host(dir: &Path, cs: &str, host_toml: &str) -> RunningApp {
    let config = write_file(dir, "host.toml", host_toml);
    let mut command = app();
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(config)
        .env("ServiceBusConnection", cs);
    RunningApp::spawn(command)
}

/// Sends every customer's steps `steps`, interleaved, with `send --jsonl`.
pub fn send_orders(dir: &Path, cs: &str, steps: std::ops::RangeInclusive<u32>) {
    run_ok(send_command(dir, cs, CUSTOMERS, steps));
}

/// `send --jsonl` of the steps `steps` of customers `c0..c<customers>`, interleaved (all
/// customers' first step, then their second, …), from a file written in `dir`.
pub fn send_command(
    dir: &Path,
    cs: &str,
    customers: u32,
    steps: std::ops::RangeInclusive<u32>,
) -> Command {
    let mut lines = String::new();
    for step in steps {
        for c in 0..customers {
            lines.push_str(&format!(
                "{{\"session_id\":\"c{c}\",\"message_id\":\"c{c}-{step}\",\"body\":{{\"customer_id\":\"c{c}\",\"step\":\"s\",\"sequence\":{step}}}}}\n"
            ));
        }
    }
    let file = write_file(dir, "orders.jsonl", &lines);
    let mut command = app();
    command
        .args([
            "send",
            "--queue",
            QUEUE,
            "--connection-string",
            cs,
            "--jsonl",
        ])
        .arg(file);
    command
}

/// `cs` with its endpoint's port replaced by `port` (to go through a proxy).
pub fn with_port(cs: &str, port: u16) -> String {
    cs.replacen(&format!(":{}", port_of(cs)), &format!(":{port}"), 1)
}

/// `peek --json` of the queue or its dead-letter queue.
pub fn peek(cs: &str, dead_letter: bool) -> Value {
    let mut command = app();
    command.args([
        "peek",
        "--queue",
        QUEUE,
        "--json",
        "--connection-string",
        cs,
    ]);
    if dead_letter {
        command.arg("--dead-letter");
    }
    serde_json::from_slice(&run_ok(command)).unwrap()
}

/// Checks with `peek` that nothing is left in the queue or its dead-letter queue.
pub fn assert_queue_empty(cs: &str) {
    assert_eq!(peek(cs, false), serde_json::json!([]), "messages left");
    assert_eq!(
        peek(cs, true),
        serde_json::json!([]),
        "messages dead-lettered"
    );
}

/// Looks (with `peek`, for at most a minute: the broker has no event for it) until the
/// queue is empty.
pub fn wait_until_queue_empty(cs: &str) {
    examples_testkit::wait::poll(
        "an empty queue",
        std::time::Duration::from_secs(60),
        || match peek(cs, false) {
            empty if empty == serde_json::json!([]) => Ok(()),
            messages => Err(messages),
        },
    );
}

/// The steps each customer's handler saw, in log order.
pub fn steps(lines: &[Value]) -> BTreeMap<String, Vec<u32>> {
    let mut steps: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for line in with_message(lines, "session message received") {
        steps
            .entry(line["customer_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(line["sequence"].as_u64().unwrap() as u32);
    }
    steps
}

pub fn received(lines: &[Value]) -> usize {
    count(lines, "session message received")
}

/// Whether every step of every customer was seen in these logs together.
pub fn all_seen(logs: &[&[Value]]) -> bool {
    let mut seen: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for lines in logs {
        for (customer, steps) in steps(lines) {
            seen.entry(customer).or_default().extend(steps);
        }
    }
    seen.len() == CUSTOMERS as usize && seen.values().all(|s| s.len() == STEPS as usize)
}

/// Each of customers `c0..c<customers>`'s steps as two hosts saw them, one after the other: the customer, the last
/// step the first host saw, and what the second saw. Checks that the first host saw
/// `1..=last` in order (`first_host` names it in the failure).
pub fn hand_over(
    first: &[Value],
    second: &[Value],
    customers: u32,
    first_host: &str,
) -> Vec<(String, u32, Vec<u32>)> {
    let (mut before, mut after) = (steps(first), steps(second));
    (0..customers)
        .map(|c| {
            let customer = format!("c{c}");
            let one = before.remove(&customer).unwrap_or_default();
            let two = after.remove(&customer).unwrap_or_default();
            let last = one.len() as u32;
            assert_eq!(
                one,
                (1..=last).collect::<Vec<_>>(),
                "{customer} {first_host}"
            );
            (customer, last, two)
        })
        .collect()
}
