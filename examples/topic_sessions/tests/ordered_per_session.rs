//! The topic's session-enabled subscriptions, end to end: the sample events are published to
//! the topic once, and each subscription's function handles every order's events, in order.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;

use examples_testkit::{count, run_ok, temp_dir, with_message, write_file, RunningApp};

const APP: &str = env!("CARGO_BIN_EXE_topic_sessions");

#[test]
fn every_subscription_handles_each_order_in_order() {
    let dir = temp_dir("topic-sessions");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-order-events.jsonl");
    let config = write_file(
        &dir,
        "host.toml",
        &format!(
            "[service_bus]\nsession_idle_timeout = \"1s\"\n[emulator]\nport = 0\n[[emulator.seed]]\ntopic = \"orders\"\nfile = \"{seed}\"\n"
        ),
    );
    let mut command = Command::new(APP);
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(config);
    let mut app = RunningApp::spawn(command);
    // 12 events, copied to 2 subscriptions.
    app.wait_for(|s| count(s, "invocation completed") == 24);
    let seen = app.stop();

    let mut handled: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for line in with_message(&seen, "order event handled") {
        let span = &line["span"];
        // The session is the order, and the function is its subscription's.
        assert_eq!(span["session_id"], line["order_id"], "{line}");
        let function = span["function"].as_str().unwrap();
        let subscription = line["subscription"].as_str().unwrap();
        let expected = match subscription {
            "billing" => "bill_order",
            "shipping" => "ship_order",
            other => panic!("unexpected subscription {other}"),
        };
        assert_eq!(function, expected, "{line}");
        assert_eq!(span["delivery_count"], 1, "{line}");
        handled
            .entry((
                subscription.to_owned(),
                line["order_id"].as_str().unwrap().to_owned(),
            ))
            .or_default()
            .push(line["sequence"].as_u64().unwrap());
    }
    let keys: Vec<(&str, &str)> = handled
        .keys()
        .map(|(s, o)| (s.as_str(), o.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            ("billing", "order-1001"),
            ("billing", "order-1002"),
            ("billing", "order-1003"),
            ("shipping", "order-1001"),
            ("shipping", "order-1002"),
            ("shipping", "order-1003"),
        ]
    );
    for (key, sequence) in &handled {
        assert_eq!(sequence, &[1, 2, 3, 4], "{key:?} out of order");
    }
    assert!(
        with_message(&seen, "invocation completed").all(|l| l["settlement"] == "complete"),
        "every event is completed"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_host_file_validates() {
    let mut validate = Command::new(APP);
    validate
        .args(["validate", "--config"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/host.toml"));
    run_ok(validate);
}
