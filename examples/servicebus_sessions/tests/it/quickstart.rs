//! The quickstart, end to end: `start` runs the embedded broker, seeds the sample orders,
//! processes every customer's steps in order (the malformed one is dead-lettered), and a
//! SIGTERM drains and exits 0.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::process::Command;

use examples_testkit::{count, temp_dir, with_message, write_file, RunningApp};

#[test]
fn the_sample_orders_are_processed_in_order_per_customer() {
    let dir = temp_dir("quickstart");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-orders.jsonl");
    let config = write_file(
        &dir,
        "host.toml",
        &format!(
            "[service_bus]\nsession_idle_timeout = \"1s\"\n[emulator]\nport = 0\n[[emulator.seed]]\nqueue = \"orders-with-sessions\"\nfile = \"{seed}\"\n"
        ),
    );
    let mut command = Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"));
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(&config);
    let mut app = RunningApp::spawn(command);
    app.wait_for(|s| count(s, "invocation completed") == 13);

    let mut steps: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for line in with_message(app.seen(), "session message received") {
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
    let rejected: Vec<_> = with_message(app.seen(), "invocation completed")
        .filter(|l| l["outcome"] == "rejected")
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["settlement"], "dead_letter");

    // SIGTERM: `stop` waits for `host stopped`, checks `aborted = 0` and exit status 0.
    app.stop();
}
