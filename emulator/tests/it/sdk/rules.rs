//! Scenarios for subscription rules (issue 13): subscriptions filtered by rules from the
//! entities TOML, and the JS rule manager; the SQL variants wait for the `sql` branch. Shared
//! by the Python and JS test files like the others in `scenarios.rs`.

use serde_json::{json, Value};

use super::super::harness::{run, Events, Sdk};
use super::ENTITIES;

/// A topic whose subscriptions have rules from the entities TOML (no SQL).
const FILTERED: &str = r#"
[[topics]]
name = "orders"
[[topics.subscriptions]]
name = "all"
[[topics.subscriptions]]
name = "created"
[[topics.subscriptions.rules]]
name = "created"
correlation = { subject = "created" }
[[topics.subscriptions]]
name = "red"
[[topics.subscriptions.rules]]
name = "red"
correlation = { properties = { color = "red" } }
[[topics.subscriptions]]
name = "eu-created"
[[topics.subscriptions.rules]]
name = "eu-created"
correlation = { label = "created", properties = { region = "eu" } }
[[topics.subscriptions]]
name = "by-correlation"
[[topics.subscriptions.rules]]
name = "c-1"
correlation = { correlation_id = "c-1" }
[[topics.subscriptions]]
name = "nothing"
[[topics.subscriptions.rules]]
name = "nothing"
filter = false
"#;

/// The same topic with SQL rules (needs the SQL language).
const FILTERED_SQL: &str = r#"
[[topics]]
name = "orders"
[[topics.subscriptions]]
name = "blue"
[[topics.subscriptions.rules]]
name = "blue"
sql = "color = 'blue'"
[[topics.subscriptions]]
name = "deleted-or-eu"
[[topics.subscriptions.rules]]
name = "deleted-or-eu"
sql = "sys.Label = 'deleted' OR region = 'eu'"
[[topics.subscriptions]]
name = "tagged"
[[topics.subscriptions.rules]]
name = "tagged"
sql = "color = 'red'"
action = "SET tagged = 'yes'"
"#;

/// (subscription, bodies, RuleName of each) of every `peeked` event.
fn peeked(events: &Events) -> Vec<(String, Value, Value)> {
    events
        .named("peeked")
        .map(|e| {
            (
                e["subscription"].as_str().unwrap_or_default().to_owned(),
                e["bodies"].clone(),
                e["rule_names"].clone(),
            )
        })
        .collect()
}

/// Subscriptions filtered by correlation and false rules from the entities TOML.
pub async fn filtered_subscriptions(sdk: Sdk) {
    let subscriptions = "all,created,red,eu-created,by-correlation,nothing";
    let env = [("SB_TOPIC", "orders"), ("SB_SUBSCRIPTIONS", subscriptions)];
    let events = run(sdk, "filtered_subscriptions", FILTERED, &env).await;
    let bodies: Vec<(String, Value)> = peeked(&events)
        .into_iter()
        .map(|(s, bodies, _)| (s, bodies))
        .collect();
    let expected = [
        ("all", json!(["m1", "m2", "m3", "m4"])),
        ("created", json!(["m1", "m3"])),
        ("red", json!(["m1", "m4"])),
        ("eu-created", json!(["m1"])),
        ("by-correlation", json!(["m3"])),
        ("nothing", json!([])),
    ];
    let expected: Vec<(String, Value)> = expected
        .into_iter()
        .map(|(s, b)| (s.to_owned(), b))
        .collect();
    assert_eq!(bodies, expected);
}

/// Subscriptions filtered by SQL rules from the entities TOML, one with an action.
#[allow(dead_code)]
pub async fn filtered_subscriptions_sql(sdk: Sdk) {
    let env = [
        ("SB_TOPIC", "orders"),
        ("SB_SUBSCRIPTIONS", "blue,deleted-or-eu,tagged"),
    ];
    let events = run(sdk, "filtered_subscriptions", FILTERED_SQL, &env).await;
    assert_eq!(
        peeked(&events),
        vec![
            ("blue".to_owned(), json!(["m2", "m3"]), json!([null, null])),
            (
                "deleted-or-eu".to_owned(),
                json!(["m1", "m2"]),
                json!([null, null])
            ),
            (
                "tagged".to_owned(),
                json!(["m1", "m4"]),
                json!(["tagged", "tagged"])
            ),
        ]
    );
}

/// The JS rule manager adds, lists and deletes correlation rules; sends are filtered by them.
#[allow(dead_code)]
pub async fn rule_manager(sdk: Sdk) {
    let env = [("SB_TOPIC", "news"), ("SB_SUBSCRIPTIONS", "first,second")];
    let events = run(sdk, "rule_manager", ENTITIES, &env).await;
    assert_eq!(
        events.one("duplicate")["type"],
        "MessagingEntityAlreadyExists"
    );
    assert_eq!(events.one("missing")["type"], "MessagingEntityNotFound");
    let bodies: Vec<(String, Value)> = events
        .named("peeked")
        .map(|e| {
            (
                e["subscription"].as_str().unwrap_or_default().to_owned(),
                e["bodies"].clone(),
            )
        })
        .collect();
    assert_eq!(
        bodies,
        vec![
            ("first".to_owned(), json!(["m1", "m2"])),
            ("second".to_owned(), json!(["m1", "m2", "m3", "m4"])),
        ]
    );
}

/// SQL rules through the JS rule manager: filter, action copy, bad expression refused.
#[allow(dead_code)]
pub async fn rule_manager_sql(sdk: Sdk) {
    let env = [("SB_TOPIC", "news"), ("SB_SUBSCRIPTIONS", "first")];
    let events = run(sdk, "rule_manager_sql", ENTITIES, &env).await;
    let bad = events.one("bad_sql")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(bad.contains("line 1, column"), "{bad}");
    let peeked = events.one("peeked");
    assert_eq!(peeked["bodies"], json!(["m1", "m2"]));
    assert_eq!(peeked["rule_names"], json!(["tag", null]));
    assert_eq!(peeked["tagged"], json!(["yes", null]));
}
