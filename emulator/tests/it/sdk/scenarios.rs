//! The scenarios, shared by the Python and JS test files: which entities and environment each
//! script gets, and what its JSON events must say. The scripts check themselves too; these
//! assertions make the expectations visible from Rust and catch a script that stops checking.

use serde_json::{json, Value};

use super::harness::{run, Events, Sdk};

#[path = "fidelity.rs"]
mod fidelity;
pub use fidelity::{auto_forward, duplicate_detection, entity_status};
#[path = "rules.rs"]
mod rules;
#[allow(unused_imports)] // the rule manager scenarios are JS only
pub use rules::{
    filtered_subscriptions, filtered_subscriptions_sql, rule_manager, rule_manager_sql,
};

/// Every test broker gets these entities.
const ENTITIES: &str = r#"
[[queues]]
name = "sessions"
requires_session = true

[[queues]]
name = "plain"

[[queues]]
name = "short-lock"
lock_duration = "2s"

[[queues]]
name = "short-session"
requires_session = true
lock_duration = "2s"

[[queues]]
name = "fragile"
max_delivery_count = 2

[[queues]]
name = "ttl-capped"
default_message_time_to_live = "30m"

[[topics]]
name = "news"
[[topics.subscriptions]]
name = "first"
[[topics.subscriptions]]
name = "second"

[[topics]]
name = "orders"
[[topics.subscriptions]]
name = "by-session"
requires_session = true
"#;

async fn on_queue(sdk: Sdk, scenario: &str, queue: &str) -> super::harness::Events {
    run(sdk, scenario, ENTITIES, &[("SB_QUEUE", queue)]).await
}

fn numbers(value: &Value) -> Vec<i64> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_i64().expect("number"))
        .collect()
}

/// Send with session ids, accept by id and next-available, in-order receive, complete.
pub async fn session_roundtrip(sdk: Sdk) {
    let events = on_queue(sdk, "session_roundtrip", "sessions").await;
    let received: Vec<_> = events.named("received").collect();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0]["session_id"], "a");
    assert_eq!(received[0]["bodies"], json!(["a1", "a2", "a3"]));
    assert_eq!(
        received[1]["session_id"], "b",
        "next-available picks the remaining session"
    );
    assert_eq!(received[1]["bodies"], json!(["b1", "b2"]));
    for r in &received {
        let seqs = numbers(&r["sequence_numbers"]);
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        assert!(numbers(&r["delivery_counts"]).iter().all(|c| *c == 0));
    }
    let timeout = events.one("no_session_left");
    assert!(
        [
            "OperationTimeoutError",
            "ServiceTimeout",
            "SessionCannotBeLocked",
            "SessionCannotBeLockedError"
        ]
        .contains(&timeout["type"].as_str().unwrap_or_default()),
        "{timeout}"
    );
}

/// Abandon → redelivered with delivery count + 1.
pub async fn abandon(sdk: Sdk) {
    let events = on_queue(sdk, "abandon", "sessions").await;
    let counts: Vec<_> = events
        .named("received")
        .map(|e| e["delivery_count"].as_i64())
        .collect();
    assert_eq!(counts, vec![Some(0), Some(1)]);
    events.one("completed");
}

/// Defer, then receive by sequence number.
pub async fn defer(sdk: Sdk) {
    let events = on_queue(sdk, "defer", "sessions").await;
    let deferred = events.one("received_deferred");
    assert_eq!(deferred["state"], "DEFERRED");
    assert_eq!(
        deferred["sequence_number"],
        events.one("deferred")["sequence_number"]
    );
    events.one("completed");
}

/// Dead-letter with reason/description, read back from the DLQ.
pub async fn dead_letter(sdk: Sdk) {
    let events = on_queue(sdk, "dead_letter", "sessions").await;
    let dead = events.one("received_dead_letter");
    assert_eq!(dead["reason"], "bad-input");
    assert_eq!(dead["description"], "could not parse");
    assert_eq!(dead["body"], "poison");
}

/// Session state set, kept across receivers, cleared.
pub async fn session_state(sdk: Sdk) {
    let events = on_queue(sdk, "session_state", "sessions").await;
    let states: Vec<_> = events.named("state").map(|e| e["value"].clone()).collect();
    assert_eq!(states, vec![Value::Null, json!("checkpoint-1")]);
    events.one("state_cleared");
}

/// Session lock renewal.
pub async fn renew_session_lock(sdk: Sdk) {
    let events = on_queue(sdk, "renew_session_lock", "sessions").await;
    let renewed = events.one("renewed");
    assert!(renewed["after"].as_str().is_some() && renewed["before"].as_str().is_some());
}

/// Peek does not lock or count.
pub async fn peek(sdk: Sdk) {
    let events = on_queue(sdk, "peek", "sessions").await;
    assert_eq!(events.one("peeked")["bodies"], json!(["p0", "p1", "p2"]));
    assert_eq!(events.one("received")["delivery_counts"], json!([0, 0, 0]));
}

/// Schedule two, cancel one.
pub async fn schedule_cancel(sdk: Sdk) {
    let events = on_queue(sdk, "schedule_cancel", "plain").await;
    let scheduled = numbers(&events.one("scheduled")["sequence_numbers"]);
    assert_eq!(
        events.one("peeked")["states"],
        json!(["SCHEDULED", "SCHEDULED"])
    );
    let received = events.one("received");
    assert_eq!(received["body"], "soon");
    let renumbered = received["sequence_number"].as_i64().unwrap_or_default();
    assert!(
        scheduled.iter().all(|s| renumbered > *s),
        "a scheduled message gets a new sequence number when it turns active: {received}"
    );
    assert_eq!(received["state"], "ACTIVE");
    assert!(received["enqueued_time"].as_str() >= received["scheduled_enqueue_time"].as_str());
}

/// Lock expiry → redelivery with delivery count + 1; the stale lock is refused.
pub async fn lock_expiry(sdk: Sdk) {
    let events = on_queue(sdk, "lock_expiry", "short-lock").await;
    assert_eq!(events.one("received")["delivery_count"], 0);
    assert_eq!(events.one("redelivered")["delivery_count"], 1);
    events.one("stale_lock_refused");
}

/// An unrenewed session lock expires: link detached with session-lock-lost, message back
/// with delivery count + 1.
pub async fn session_lock_lost(sdk: Sdk) {
    let events = on_queue(sdk, "session_lock_lost", "short-session").await;
    let counts: Vec<_> = events
        .named("received")
        .map(|e| e["delivery_count"].as_i64())
        .collect();
    assert_eq!(counts, vec![Some(0), Some(1)]);
    let lost = events.one("lock_lost");
    assert!(
        ["SessionLockLostError", "SessionLockLost"]
            .contains(&lost["type"].as_str().unwrap_or_default()),
        "{lost}"
    );
}

/// Closing a session receiver releases the session without counting the delivery.
pub async fn release_on_close(sdk: Sdk) {
    let events = on_queue(sdk, "release_on_close", "sessions").await;
    let counts: Vec<_> = events
        .named("received")
        .map(|e| e["delivery_count"].as_i64())
        .collect();
    assert_eq!(counts, vec![Some(0), Some(0)]);
    events.one("closed");
}

/// Max delivery count → DLQ with MaxDeliveryCountExceeded.
pub async fn max_delivery(sdk: Sdk) {
    let events = on_queue(sdk, "max_delivery", "fragile").await;
    assert_eq!(events.named("received").count(), 2);
    assert_eq!(
        events.one("received_dead_letter")["reason"],
        "MaxDeliveryCountExceeded"
    );
}

/// A locked session cannot be accepted twice. Python shows Service Bus's detach text; JS
/// throws its own `SessionCannotBeLocked` text when the attach echoes no session id.
pub async fn locked_session(sdk: Sdk) {
    let events = on_queue(sdk, "locked_session", "sessions").await;
    let refused = events.one("refused");
    let text = refused["message"].as_str().unwrap_or_default();
    let expected = match sdk {
        Sdk::Python => {
            "The requested session 'L' cannot be accepted. It may be locked by another receiver."
        }
        Sdk::Js => "requested session 'L'. It may be locked by another receiver.",
    };
    assert!(text.contains(expected), "{refused}");
    let kind = refused["type"].as_str().unwrap_or_default();
    assert!(
        ["SessionCannotBeLockedError", "SessionCannotBeLocked"].contains(&kind),
        "{refused}"
    );
}

/// Sending without session id to a session queue is refused with SB's text.
pub async fn no_session_id(sdk: Sdk) {
    let events = on_queue(sdk, "no_session_id", "sessions").await;
    let text = events.one("refused")["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        text.contains(
            "The SessionId was not set on a message, and it cannot be sent to the entity."
        ),
        "{text}"
    );
    events.one("sent_with_session_id");
}

/// The script's `refused` event, asserted to be the SDK's authentication or authorisation
/// error (the names differ between SDKs).
fn refused_as_unauthorised(events: &Events) -> &Value {
    let refused = events.one("refused");
    assert!(
        [
            "ServiceBusAuthenticationError",
            "ServiceBusAuthorizationError",
            "UnauthorizedAccess"
        ]
        .contains(&refused["type"].as_str().unwrap_or_default()),
        "{refused}"
    );
    refused
}

/// A wrong SAS key is refused.
pub async fn wrong_key(sdk: Sdk) {
    let events = on_queue(sdk, "wrong_key", "sessions").await;
    refused_as_unauthorised(&events);
}

/// A Listen-only rule receives but cannot send (Azure's `'Send' claim(s) are required`).
pub async fn listen_only(sdk: Sdk) {
    let events = on_queue(sdk, "listen_only", "plain").await;
    let refused = refused_as_unauthorised(&events);
    assert!(
        refused["message"]
            .as_str()
            .unwrap_or_default()
            .contains("'Send' claim(s) are required"),
        "{refused}"
    );
    assert_eq!(events.one("received")["bodies"], json!(["allowed"]));
}

/// Topic fan-out to two subscriptions.
pub async fn topic_fanout(sdk: Sdk) {
    let events = run(
        sdk,
        "topic_fanout",
        ENTITIES,
        &[("SB_TOPIC", "news"), ("SB_SUBSCRIPTIONS", "first,second")],
    )
    .await;
    let received: Vec<_> = events
        .named("received")
        .map(|e| (e["subscription"].clone(), e["bodies"].clone()))
        .collect();
    assert_eq!(
        received,
        vec![
            (json!("first"), json!(["news-1", "news-2"])),
            (json!("second"), json!(["news-1", "news-2"]))
        ]
    );
}

/// A batch filled to the SDK's limit is accepted whole.
pub async fn full_batch(sdk: Sdk) {
    let events = on_queue(sdk, "full_batch", "plain").await;
    let batch = events.one("batch");
    let count = batch["count"].as_i64().unwrap_or_default();
    assert!(
        count > 100,
        "a 256 KiB batch holds hundreds of small messages: {batch}"
    );
    assert_eq!(events.one("received")["count"].as_i64(), Some(count));
}

/// Session listing, all and by state update time (Python only: JS 7.9 has no public API).
#[allow(dead_code)]
pub async fn list_sessions(sdk: Sdk) {
    let events = on_queue(sdk, "list_sessions", "sessions").await;
    assert_eq!(
        events.one("listed")["sessions"],
        json!(["a", "b", "c", "st"])
    );
    assert_eq!(events.one("listed_updated")["sessions"], json!(["st"]));
}

/// Receive-and-delete leaves nothing behind.
pub async fn receive_and_delete(sdk: Sdk) {
    let events = on_queue(sdk, "receive_and_delete", "plain").await;
    assert_eq!(
        events.one("received")["bodies"],
        json!(["gone-1", "gone-2"])
    );
    assert_eq!(events.one("peeked")["count"], 0);
}

/// One `#[tokio::test]` per scenario for `$sdk`, so each failure names its scenario.
macro_rules! scenario_tests {
    ($sdk:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                scenarios::$name($sdk).await;
            }
        )*
    };
}

/// What the SDK reads from peeked, received and dead-lettered messages: state, delivery count,
/// lock, the effective time to live (capped by and defaulting to the queue's 30 minutes),
/// properties, dead-letter reason and description, no dead-letter source.
pub async fn message_properties(sdk: Sdk) {
    let events = on_queue(sdk, "message_properties", "ttl-capped").await;
    let received: Vec<_> = events.named("received").collect();
    assert_eq!(received.len(), 3);
    let ttl = |body: &str| {
        received.iter().find(|e| e["body"] == body).map(|e| {
            (
                e["time_to_live_ms"].clone(),
                e["expires_after_enqueue_ms"].clone(),
            )
        })
    };
    let thirty_minutes = json!(1_800_000);
    // JS's `timeToLive` prefers the sender's absolute-expiry-time (left as sent): 2 hours.
    let long_ttl = if sdk == Sdk::Js {
        json!(7_200_000)
    } else {
        thirty_minutes.clone()
    };
    assert_eq!(ttl("long"), Some((long_ttl, thirty_minutes.clone())));
    assert_eq!(ttl("short"), Some((json!(300_000), json!(300_000))));
    assert_eq!(ttl("none"), Some((thirty_minutes.clone(), thirty_minutes)));
    for e in &received {
        assert_eq!(e["state"], "ACTIVE", "{e}");
        assert_eq!(e["delivery_count"], 0, "{e}");
        assert_eq!(e["locked"], true, "{e}");
        assert_eq!(
            e["enqueued_sequence_number"], e["sequence_number"],
            "Berth's choice for a message not forwarded: {e}"
        );
    }
    assert!(events.named("peeked").all(|e| e["locked"] == false));
    let dead = events.one("dead_lettered");
    assert_eq!(
        (
            &dead["dead_letter_reason"],
            &dead["dead_letter_error_description"]
        ),
        (&json!("bad"), &json!("it was bad"))
    );
    assert_eq!(dead["dead_letter_source"], Value::Null);
    assert_eq!(
        (&dead["to"], &dead["partition_key"]),
        (&json!("someone"), &json!("pk"))
    );
}

/// Sessions on a session-enabled subscription.
pub async fn session_subscription(sdk: Sdk) {
    let events = run(
        sdk,
        "session_subscription",
        ENTITIES,
        &[("SB_TOPIC", "orders"), ("SB_SUBSCRIPTIONS", "by-session")],
    )
    .await;
    assert_eq!(events.one("peeked")["bodies"], json!(["y0", "y1"]));
    let received = events.one("received");
    assert_eq!(
        (&received["session_id"], &received["bodies"]),
        (&json!("y"), &json!(["y0", "y1"]))
    );
    let deferred = events.one("received_deferred");
    assert_eq!(
        (&deferred["body"], &deferred["state"]),
        (&json!("y0"), &json!("DEFERRED"))
    );
    let next = events.one("next_session");
    assert_eq!(
        (&next["session_id"], &next["bodies"]),
        (&json!("x"), &json!(["x0", "x1"]))
    );
}
