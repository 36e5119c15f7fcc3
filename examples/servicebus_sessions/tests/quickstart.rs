//! The quickstart, end to end: `start` runs the embedded broker, seeds the sample orders,
//! processes every customer's steps in order (the malformed one is dead-lettered), and a
//! SIGTERM drains and exits 0.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// Reads the app's JSON log lines until `done` says so; fails after a bound instead of
/// hanging.
fn read_until(
    lines: &mpsc::Receiver<Value>,
    seen: &mut Vec<Value>,
    mut done: impl FnMut(&[Value]) -> bool,
) {
    while !done(seen) {
        match lines.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => seen.push(line),
            Err(e) => panic!("the app stopped logging ({e}); saw:\n{seen:#?}"),
        }
    }
}

fn count(seen: &[Value], message: &str) -> usize {
    seen.iter().filter(|l| l["message"] == message).count()
}

#[test]
fn the_sample_orders_are_processed_in_order_per_customer() {
    let dir = std::env::temp_dir().join(format!("berth-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("host.toml");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-orders.jsonl");
    std::fs::write(
        &config,
        format!(
            "[service_bus]\nsession_idle_timeout = \"1s\"\n[emulator]\nport = 0\n[[emulator.seed]]\nqueue = \"orders-with-sessions\"\nfile = \"{seed}\"\n"
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"))
        .args(["start", "--log-format", "json", "--config"])
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(value) = serde_json::from_str::<Value>(&line) {
                let _ = tx.send(value);
            }
        }
    });
    let mut seen = Vec::new();
    read_until(&lines, &mut seen, |s| {
        count(s, "invocation completed") == 13
    });

    let mut steps: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in seen
        .iter()
        .filter(|l| l["message"] == "session message received")
    {
        let customer = line["customer_id"].as_str().unwrap().to_owned();
        assert_eq!(line["span"]["delivery_count"], 1, "{line}");
        assert_eq!(line["span"]["session_id"], line["customer_id"], "{line}");
        steps
            .entry(customer)
            .or_default()
            .push(line["sequence"].as_u64().unwrap());
    }
    assert_eq!(steps.len(), 3, "{steps:?}");
    for (customer, sequence) in &steps {
        assert_eq!(sequence, &[1, 2, 3, 4], "{customer} out of order");
    }
    let rejected: Vec<&Value> = seen
        .iter()
        .filter(|l| l["message"] == "invocation completed" && l["outcome"] == "rejected")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["settlement"], "dead_letter");

    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    read_until(&lines, &mut seen, |s| count(s, "host stopped") == 1);
    let exit = child.wait().unwrap();
    assert!(exit.success(), "exit status {exit}");
    let stopped = seen
        .iter()
        .find(|l| l["message"] == "host stopped")
        .unwrap();
    assert_eq!(stopped["aborted"], 0);
}
