//! The running totals, end to end: day 1's orders are processed with a transient failure
//! (counted once) and an invalid order (dead-lettered); after a restart on the same broker
//! data, day 2's orders continue the totals from the session state day 1 left.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use examples_testkit::{count, run_ok, temp_dir, with_message, write_file, RunningApp};
use serde_json::{json, Value};

const APP: &str = env!("CARGO_BIN_EXE_session_state");

/// Starts the app on the durable broker data in `dir`, seeded with `seed_file`.
fn start(dir: &Path, run: &str, seed_file: &str) -> RunningApp {
    let seed = format!("{}/{seed_file}", env!("CARGO_MANIFEST_DIR"));
    let data = dir.join("data");
    let config = write_file(
        dir,
        &format!("{run}.toml"),
        &format!(
            "[service_bus]\nsession_idle_timeout = \"1s\"\n[emulator]\nport = 0\ndata_dir = \"{}\"\n[[emulator.seed]]\nqueue = \"customer-orders\"\nfile = \"{seed}\"\n",
            data.display()
        ),
    );
    let mut command = Command::new(APP);
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(config);
    RunningApp::spawn(command)
}

/// The last `totals updated` line of each customer: `[orders, amount_cents, items]`.
fn final_totals(seen: &[Value]) -> BTreeMap<String, Value> {
    with_message(seen, "totals updated")
        .map(|l| {
            let customer = l["customer"].as_str().unwrap().to_owned();
            (
                customer,
                json!([l["orders"], l["amount_cents"], l["items"]]),
            )
        })
        .collect()
}

/// Every `(customer, order_id, delivery_count)` that was added to the totals.
fn counted(seen: &[Value]) -> Vec<(String, String, u64)> {
    let mut counted: Vec<_> = with_message(seen, "totals updated")
        .map(|l| {
            (
                l["customer"].as_str().unwrap().to_owned(),
                l["order_id"].as_str().unwrap().to_owned(),
                l["delivery_count"].as_u64().unwrap(),
            )
        })
        .collect();
    counted.sort();
    counted
}

fn entry(customer: &str, totals: [i64; 3]) -> (String, Value) {
    (customer.to_owned(), json!(totals))
}

#[test]
fn totals_survive_retries_dead_letters_and_a_restart() {
    let dir = temp_dir("session-state");

    // Day 1: 7 orders; two fail once and are redelivered (9 invocations).
    let mut app = start(&dir, "day-1", "orders-day-1.jsonl");
    app.wait_for(|s| count(s, "invocation completed") == 9);
    let day_1 = app.stop();
    assert_eq!(
        final_totals(&day_1),
        BTreeMap::from([
            entry("cust-1", [3, 4050, 6]),
            entry("cust-2", [2, 1000, 2]),
            entry("cust-3", [1, 4500, 5]),
        ])
    );
    // The transient orders were counted once, on their redelivery.
    assert_eq!(
        counted(&day_1),
        [
            ("cust-1".into(), "o-1".into(), 1),
            ("cust-1".into(), "o-2".into(), 2),
            ("cust-1".into(), "o-4".into(), 1),
            ("cust-2".into(), "o-1".into(), 1),
            ("cust-2".into(), "o-2".into(), 1),
            ("cust-3".into(), "o-1".into(), 2),
        ]
    );
    let settlements: Vec<(&Value, &Value)> = with_message(&day_1, "invocation completed")
        .map(|l| (&l["outcome"], &l["settlement"]))
        .filter(|(_, settlement)| *settlement != "complete")
        .collect();
    assert_eq!(settlements.len(), 3, "{settlements:?}");
    assert_eq!(
        settlements
            .iter()
            .filter(|(_, settlement)| *settlement == "abandon")
            .count(),
        2,
        "{settlements:?}"
    );
    assert_eq!(
        settlements
            .iter()
            .filter(|(_, settlement)| *settlement == "dead_letter")
            .count(),
        1,
        "{settlements:?}"
    );

    // Day 2, restarted on the same broker data: the totals go on from day 1's.
    let mut app = start(&dir, "day-2", "orders-day-2.jsonl");
    app.wait_for(|s| count(s, "invocation completed") == 4);
    let connection_string = app
        .seen()
        .iter()
        .find_map(|l| l["connection_string"].as_str())
        .unwrap()
        .to_owned();
    // The invalid order of day 1 is still in the dead-letter queue, with its reason.
    let mut peek = Command::new(APP);
    peek.args([
        "peek",
        "--queue",
        "customer-orders",
        "--dead-letter",
        "--json",
    ])
    .args(["--connection-string", &connection_string]);
    let dead: Value = serde_json::from_slice(&run_ok(peek)).unwrap();
    assert_eq!(dead.as_array().unwrap().len(), 1, "{dead:#}");
    assert_eq!(dead[0]["message_id"], "cust-1-o-3");
    assert_eq!(dead[0]["dead_letter_reason"], "InvalidOrder");
    let day_2 = app.stop();
    assert_eq!(
        final_totals(&day_2),
        BTreeMap::from([
            entry("cust-1", [4, 5000, 7]),
            entry("cust-2", [3, 1500, 4]),
            entry("cust-4", [1, 300, 1]),
        ])
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_host_files_validate() {
    for config in ["host.toml", "host-day-2.toml"] {
        let mut validate = Command::new(APP);
        validate
            .args(["validate", "--config"])
            .arg(format!("{}/{config}", env!("CARGO_MANIFEST_DIR")));
        run_ok(validate);
    }
}
