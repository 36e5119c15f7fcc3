//! Scenarios for duplicate detection, auto-forwarding and entity status (issue 13), shared by
//! the Python and JS test files like the others in `scenarios.rs`, with their own entities.
//! Auto-delete on idle has no SDK scenario: its 5-minute minimum is covered with paused time
//! in `tests/entity_status_idle.rs`.

use serde_json::Value;

use super::super::harness::{run, Sdk};

/// The entities these scenarios use.
const ENTITIES: &str = r#"
[[queues]]
name = "dedup"
requires_duplicate_detection = true
duplicate_detection_history_time_window = "1m"

[[topics]]
name = "dedup-news"
requires_duplicate_detection = true
[[topics.subscriptions]]
name = "all"

[[queues]]
name = "fwd-source"
forward_to = "fwd-destination"

[[queues]]
name = "fwd-destination"
forward_dead_lettered_messages_to = "fwd-graveyard"

[[queues]]
name = "fwd-graveyard"

[[queues]]
name = "fwd-sessions"
requires_session = true

[[queues]]
name = "fwd-to-sessions"
forward_to = "fwd-sessions"

[[queues]]
name = "st-disabled"
status = "Disabled"

[[queues]]
name = "st-send-disabled"
status = "SendDisabled"

[[queues]]
name = "st-receive-disabled"
status = "ReceiveDisabled"
"#;

/// Duplicates are dropped by a queue and a topic (the scripts check the bodies).
pub async fn duplicate_detection(sdk: Sdk) {
    let env = [
        ("SB_QUEUE", "dedup"),
        ("SB_TOPIC", "dedup-news"),
        ("SB_SUBSCRIPTIONS", "all"),
    ];
    let events = run(sdk, "duplicate_detection", ENTITIES, &env).await;
    assert_eq!(
        events.one("received")["bodies"],
        serde_json::json!(["first", "second"])
    );
    assert_eq!(
        events.one("received_from_topic")["bodies"],
        serde_json::json!(["news"])
    );
}

/// Forwarding keeps properties, dead-letter forwarding sets the source, refusals land in the
/// transfer dead-letter queue.
pub async fn auto_forward(sdk: Sdk) {
    let env = [
        ("SB_QUEUE", "fwd-source"),
        ("SB_DESTINATION", "fwd-destination"),
        ("SB_GRAVEYARD", "fwd-graveyard"),
        ("SB_TO_SESSIONS", "fwd-to-sessions"),
    ];
    let events = run(sdk, "auto_forward", ENTITIES, &env).await;
    let forwarded = events.one("forwarded");
    assert_eq!(forwarded["message_id"], "o-1");
    assert_eq!(forwarded["properties"]["kind"], "new");
    assert_eq!(forwarded["sequence_number"], 1, "the destination's number");
    let dead = events.one("dead_letter_forwarded");
    assert_eq!(dead["source"], "fwd-destination");
    assert_eq!(dead["reason"], "bad-order");
    assert_eq!(
        events.one("transfer_dead_letter")["reason"],
        "Session ID is null."
    );
}

/// Each status refuses what it disables with the entity-disabled error.
pub async fn entity_status(sdk: Sdk) {
    let env = [
        ("SB_DISABLED", "st-disabled"),
        ("SB_SEND_DISABLED", "st-send-disabled"),
        ("SB_RECEIVE_DISABLED", "st-receive-disabled"),
    ];
    let events = run(sdk, "entity_status", ENTITIES, &env).await;
    let refused: Vec<&Value> = events.named("refused").collect();
    assert_eq!(refused.len(), 3, "{refused:?}");
    for r in refused {
        let kind = r["type"].as_str().unwrap_or_default();
        assert!(kind.contains("MessagingEntityDisabled"), "{r}");
        let message = r["message"].as_str().unwrap_or_default();
        assert!(message.contains("is currently disabled"), "{r}");
    }
    assert_eq!(events.one("received_from_send_disabled")["count"], 0);
    events.one("sent_to_receive_disabled");
}
