//! The admin API's entity options for duplicate detection, forwarding, status and auto-delete
//! on idle, topic options, and `PATCH /entities/PATH` (status), over real HTTP/1.1.
#![allow(clippy::unwrap_used)]

use crate::admin_support;

use admin_support::{request, start};
use berth_emulator::entity::EntityStatus;

#[tokio::test]
async fn entities_take_the_new_options_and_report_them() {
    let (namespace, server) = start().await;
    let addr = server.local_addr();
    let (status, topic) = request(
        addr,
        "PUT",
        "/topics/events",
        r#"{"requires_duplicate_detection": true, "duplicate_detection_history_time_window": "1m",
            "default_message_time_to_live": "1h", "max_size_in_megabytes": 2,
            "status": "SendDisabled", "auto_delete_on_idle": "10m"}"#,
    )
    .await;
    assert_eq!(status, 201, "{topic}");
    let o = &topic["options"];
    assert_eq!(o["requires_duplicate_detection"], true);
    assert_eq!(o["duplicate_detection_history_time_window_ms"], 60_000);
    assert_eq!(o["default_message_time_to_live_ms"], 3_600_000);
    assert_eq!(o["max_size_bytes"], 2 << 20);
    assert_eq!(o["status"], "SendDisabled");
    assert_eq!(o["auto_delete_on_idle_ms"], 600_000);

    let (status, q) = request(addr, "PUT", "/queues/sink", "{}").await;
    assert_eq!(status, 201, "{q}");
    assert_eq!(q["options"]["status"], "Active");
    assert_eq!(q["options"]["requires_duplicate_detection"], false);
    assert_eq!(
        q["options"]["duplicate_detection_history_time_window_ms"],
        600_000
    );
    let (status, q) = request(
        addr,
        "PUT",
        "/queues/src",
        r#"{"forward_to": "sink", "forward_dead_lettered_messages_to": "events", "requires_duplicate_detection": true}"#,
    )
    .await;
    assert_eq!(status, 201, "{q}");
    assert_eq!(q["options"]["forward_to"], "sink");
    assert_eq!(q["options"]["forward_dead_lettered_messages_to"], "events");

    let (status, s) = request(
        addr,
        "PUT",
        "/topics/events/subscriptions/audit",
        r#"{"forward_to": "sink", "status": "ReceiveDisabled"}"#,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["options"]["status"], "ReceiveDisabled");
    drop(namespace);
}

#[tokio::test]
async fn unknown_or_unsupported_options_are_refused_by_name() {
    let (_namespace, server) = start().await;
    let addr = server.local_addr();
    let (status, e) = request(addr, "PUT", "/topics/t", r#"{"enable_partitioning": true}"#).await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("enable_partitioning"),
        "{e}"
    );
    let (status, e) = request(addr, "PUT", "/queues/q", r#"{"forward_to": "nowhere"}"#).await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("nowhere"), "{e}");
    let (status, e) = request(addr, "PUT", "/queues/q", r#"{"auto_delete_on_idle": "1m"}"#).await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"].as_str().unwrap().contains("auto_delete_on_idle"),
        "{e}"
    );
    request(addr, "PUT", "/topics/t", "").await;
    let (status, e) = request(
        addr,
        "PUT",
        "/topics/t/subscriptions/s",
        r#"{"requires_duplicate_detection": true}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("requires_duplicate_detection"),
        "{e}"
    );
}

#[tokio::test]
async fn patch_changes_the_status_and_nothing_else() {
    let (namespace, server) = start().await;
    let addr = server.local_addr();
    request(addr, "PUT", "/queues/orders", "").await;
    let (status, q) = request(
        addr,
        "PATCH",
        "/entities/orders",
        r#"{"status": "Disabled"}"#,
    )
    .await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["options"]["status"], "Disabled");
    assert_eq!(
        namespace.receiver("orders").unwrap().status(),
        EntityStatus::Disabled
    );
    let (status, e) = request(
        addr,
        "PATCH",
        "/entities/orders",
        r#"{"status": "Active", "lock_duration": "10s"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        e["error"].as_str().unwrap().contains("lock_duration"),
        "{e}"
    );
    let (status, e) = request(addr, "PATCH", "/entities/orders", r#"{"status": "Paused"}"#).await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("Paused"), "{e}");
    let (status, _) = request(
        addr,
        "PATCH",
        "/entities/nothing",
        r#"{"status": "Active"}"#,
    )
    .await;
    assert_eq!(status, 404);
}
