//! Crashes, end to end, with the app binary against an external durable broker (the app's own
//! `emulator` command, as `host emulator` runs it, with 5 s locks):
//!
//! * `kill -9` of a host in the middle of its sessions: a second host takes the sessions over
//!   and finishes them; nothing is lost and the only message seen twice is the one each
//!   session had in flight (checked in the hosts' JSON logs).
//! * `kill -9` of the broker, restarted on the same port and data directory: the host
//!   reconnects by itself and finishes every message, in order per customer.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use examples_testkit::{count, run_ok, temp_dir, with_message, write_file, Emulator, RunningApp};
use serde_json::Value;

const QUEUE: &str = "orders-with-sessions";
const CUSTOMERS: u32 = 10;
const STEPS: u32 = 40;
const TOTAL: usize = (CUSTOMERS * STEPS) as usize;

fn app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"))
}

/// The broker: the app's `emulator` command, durable in `dir/data`, on `port` (0: any).
fn broker(dir: &Path, port: u16) -> Emulator {
    let entities = write_file(
        dir,
        "entities.toml",
        &format!(
            "[[queues]]\nname = \"{QUEUE}\"\nrequires_session = true\nlock_duration = \"5s\"\n"
        ),
    );
    let mut command = app();
    command
        .args(["emulator", "--port", &port.to_string(), "--config"])
        .arg(entities)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env("RUST_LOG", "warn");
    Emulator::spawn(command)
}

/// The port in `Endpoint=sb://127.0.0.1:<port>;…`.
fn port_of(connection_string: &str) -> u16 {
    connection_string
        .split(';')
        .next()
        .and_then(|endpoint| endpoint.rsplit(':').next())
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .unwrap()
}

/// A host (`start --log-format json`) on the broker at `cs`.
fn host(dir: &Path, cs: &str) -> RunningApp {
    let config = write_file(
        dir,
        "host.toml",
        "[service_bus]\nsession_idle_timeout = \"1s\"\n",
    );
    let mut command = app();
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(config)
        .env("ServiceBusConnection", cs);
    RunningApp::spawn(command)
}

/// Sends every customer's steps, interleaved, with `send --jsonl`.
fn send_orders(dir: &Path, cs: &str) {
    let mut lines = String::new();
    for step in 1..=STEPS {
        for c in 0..CUSTOMERS {
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
    run_ok(command);
}

/// `peek --json` of the queue or its dead-letter queue.
fn peek(cs: &str, dead_letter: bool) -> Value {
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
fn assert_queue_empty(cs: &str) {
    assert_eq!(peek(cs, false), serde_json::json!([]), "messages left");
    assert_eq!(
        peek(cs, true),
        serde_json::json!([]),
        "messages dead-lettered"
    );
}

/// Looks (with `peek`, every 200 ms, for at most a minute: the broker has no event for it)
/// until the queue is empty.
fn wait_until_queue_empty(cs: &str) {
    for _ in 0..300 {
        if peek(cs, false) == serde_json::json!([]) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!(
        "the queue still has messages after a minute: {}",
        peek(cs, false)
    );
}

/// The steps each customer's handler saw, in log order.
fn steps(lines: &[Value]) -> BTreeMap<String, Vec<u32>> {
    let mut steps: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for line in with_message(lines, "session message received") {
        steps
            .entry(line["customer_id"].as_str().unwrap().to_owned())
            .or_default()
            .push(line["sequence"].as_u64().unwrap() as u32);
    }
    steps
}

fn received(lines: &[Value]) -> usize {
    count(lines, "session message received")
}

/// Whether every step of every customer was seen in these logs together.
fn all_seen(logs: &[&[Value]]) -> bool {
    let mut seen: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    for lines in logs {
        for (customer, steps) in steps(lines) {
            seen.entry(customer).or_default().extend(steps);
        }
    }
    seen.len() == CUSTOMERS as usize && seen.values().all(|s| s.len() == STEPS as usize)
}

#[test]
fn a_killed_host_loses_nothing_and_repeats_only_its_in_flight_messages() {
    let dir = temp_dir("crash-host");
    let broker = broker(&dir, 0);
    let cs = broker.connection_string.clone();
    send_orders(&dir, &cs);

    let mut first = host(&dir, &cs);
    first.wait_for(|s| received(s) >= TOTAL / 4);
    first.kill();
    let first = first.seen().to_vec();
    assert!(received(&first) < TOTAL, "killed mid-run");

    let mut second = host(&dir, &cs);
    second.wait_for(|s| all_seen(&[&first, s]));
    let (before, after) = (steps(&first), steps(second.seen()));
    let mut repeated = 0;
    for c in 0..CUSTOMERS {
        let customer = format!("c{c}");
        let one = before.get(&customer).cloned().unwrap_or_default();
        let two = after.get(&customer).cloned().unwrap_or_default();
        let last = one.len() as u32;
        assert_eq!(
            one,
            (1..=last).collect::<Vec<_>>(),
            "{customer} before the kill"
        );
        // The second host starts where the first stopped: with the message the first one had
        // in flight (seen again), or with the next one.
        let start = two.first().copied().unwrap_or(STEPS + 1);
        assert!(
            start == last || start == last + 1,
            "{customer}: the first host saw 1..={last}, the second started at {start}"
        );
        assert_eq!(
            two,
            (start..=STEPS).collect::<Vec<_>>(),
            "{customer} after the kill"
        );
        repeated += usize::from(start == last && last > 0);
    }
    eprintln!(
        "first host: {} steps; second host: {} steps, {repeated} of them repeated",
        received(&first),
        received(second.seen())
    );
    second.stop();
    assert_queue_empty(&cs);
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_host_reconnects_after_the_broker_is_killed_and_finishes_in_order() {
    let dir = temp_dir("crash-broker");
    let first_broker = broker(&dir, 0);
    let cs = first_broker.connection_string.clone();
    send_orders(&dir, &cs);

    let mut host = host(&dir, &cs);
    host.wait_for(|s| received(s) >= TOTAL / 4);
    drop(first_broker); // SIGKILL
    let before = received(host.seen());
    let broker = broker(&dir, port_of(&cs));
    assert_eq!(broker.connection_string, cs);
    host.wait_for(|s| all_seen(&[s]));
    assert!(before < TOTAL, "killed mid-run");
    // Messages whose completion the killed broker lost come back; wait until they are done.
    wait_until_queue_empty(&cs);
    let lines = host.stop();
    let connects = count(&lines, "connected to Service Bus");
    assert!(
        connects >= 2,
        "the host must have reconnected ({connects} connects)"
    );
    for (customer, steps) in steps(&lines) {
        // At least once and in order: after the broker's crash, a customer may go back (to
        // messages whose completion the broker had not made durable) but never skips.
        let backs = steps.windows(2).filter(|w| w[1] <= w[0]).count();
        assert!(backs <= 1, "{customer}: {steps:?}");
        assert!(
            steps.windows(2).all(|w| w[1] <= w[0] + 1),
            "{customer} skipped a step: {steps:?}"
        );
        assert_eq!(steps.last(), Some(&STEPS), "{customer}: {steps:?}");
    }
    eprintln!(
        "{before} steps before the broker was killed, {} in all",
        received(&lines)
    );
    assert_queue_empty(&cs);
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
