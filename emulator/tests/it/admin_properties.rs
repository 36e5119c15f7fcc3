//! The admin API reports every entity's description with Azure's names and defaults, and its
//! runtime properties, over real HTTP on loopback.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use berth_emulator::admin::AdminServer;
use berth_emulator::entity::{EntityOptions, EntityStatus, Namespace, NewMessage, TopicOptions};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// `GET path`, answered as JSON.
async fn get(addr: SocketAddr, path: &str) -> Value {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = response.split("\r\n\r\n").nth(1).unwrap();
    serde_json::from_str(body).unwrap()
}

async fn start(namespace: &Namespace) -> AdminServer {
    AdminServer::start(
        "127.0.0.1:0".parse().unwrap(),
        namespace.clone(),
        Default::default(),
    )
    .await
    .unwrap()
}

/// Azure's defaults every entity kind reports when created without these options.
fn assert_common_defaults(properties: &Value, what: &str) {
    for (key, value) in [
        ("requires_duplicate_detection", json!(false)),
        ("duplicate_detection_history_time_window", json!("PT10M")),
        ("status", json!("Active")),
        ("auto_delete_on_idle", json!("P10675199DT2H48M5.4775807S")),
        ("enable_batched_operations", json!(true)),
        ("user_metadata", Value::Null),
    ] {
        assert_eq!(properties[key], value, "{what}: {key} in {properties}");
    }
}

#[tokio::test]
async fn descriptions_report_every_option_with_azures_defaults() {
    let namespace = Namespace::in_memory();
    namespace
        .create_queue("q", EntityOptions::default())
        .unwrap();
    namespace.create_topic("t").unwrap();
    let short = EntityOptions {
        lock_duration: Duration::from_millis(1_500),
        ..EntityOptions::default()
    };
    namespace.create_subscription("t", "s", short).unwrap();
    let server = start(&namespace).await;

    let queue = get(server.local_addr(), "/entities/q").await;
    let p = &queue["properties"];
    assert_common_defaults(p, "queue");
    assert_eq!(p["lock_duration"], "PT1M");
    assert_eq!(p["max_size_in_megabytes"], 1024);
    assert_eq!(p["max_delivery_count"], 10);
    assert_eq!(p["requires_session"], false);
    assert_eq!(
        p["default_message_time_to_live"],
        "P10675199DT2H48M5.4775807S"
    );
    assert_eq!(p["dead_lettering_on_message_expiration"], false);
    assert_eq!(p["forward_to"], Value::Null);
    assert_eq!(p["forward_dead_lettered_messages_to"], Value::Null);
    assert_eq!(p["enable_partitioning"], false);
    assert_eq!(p["enable_express"], false);
    assert_eq!(p["max_message_size_in_kilobytes"], 256);

    let topic = get(server.local_addr(), "/entities/t").await;
    let p = &topic["properties"];
    assert_common_defaults(p, "topic");
    assert_eq!(p["max_size_in_megabytes"], 1024);
    assert_eq!(p["support_ordering"], true);
    assert_eq!(p["filtering_messages_before_publishing"], false);
    assert!(p.get("forward_to").is_none(), "topics do not forward: {p}");

    let sub = get(server.local_addr(), "/entities/t/Subscriptions/s").await;
    let p = &sub["properties"];
    assert_common_defaults(p, "subscription");
    assert_eq!(p["lock_duration"], "PT1.5S");
    assert_eq!(p["dead_lettering_on_filter_evaluation_exceptions"], true);
    assert!(
        p.get("max_size_in_megabytes").is_none(),
        "a subscription has no size of its own: {p}"
    );
}

#[tokio::test]
async fn runtime_properties_carry_times_and_counts() {
    let namespace = Namespace::in_memory();
    namespace
        .create_queue("q", EntityOptions::default())
        .unwrap();
    namespace.create_topic("t").unwrap();
    namespace
        .create_subscription("t", "s", EntityOptions::default())
        .unwrap();
    let server = start(&namespace).await;
    let fresh = get(server.local_addr(), "/entities/q").await;
    assert_eq!(fresh["runtime"]["accessed_at"], "0001-01-01T00:00:00Z");
    assert_eq!(fresh["runtime"]["total_message_count"], 0);

    let later = SystemTime::now() + Duration::from_secs(3600);
    namespace.send("q", &NewMessage::new("a")).await.unwrap();
    let scheduled = NewMessage::new("b").with_scheduled_enqueue_time(later);
    namespace.send("q", &scheduled).await.unwrap();
    namespace.send("t", &scheduled).await.unwrap();
    namespace.send("t", &NewMessage::new("c")).await.unwrap();

    let queue = &get(server.local_addr(), "/entities/q").await["runtime"];
    assert_eq!(queue["active_message_count"], 1, "{queue}");
    assert_eq!(queue["scheduled_message_count"], 1, "{queue}");
    assert_eq!(queue["total_message_count"], 2, "{queue}");
    assert_eq!(queue["transfer_message_count"], 0, "{queue}");
    assert_eq!(queue["transfer_dead_letter_message_count"], 0, "{queue}");
    let accessed = queue["accessed_at"].as_str().unwrap();
    assert!(accessed.ends_with('Z') && accessed > "2000", "{queue}");
    assert!(queue["created_at"].as_str().unwrap() <= accessed, "{queue}");

    let topic = &get(server.local_addr(), "/entities/t").await["runtime"];
    assert_eq!(topic["subscription_count"], 1, "{topic}");
    assert_eq!(topic["scheduled_message_count"], 1, "{topic}");
    assert!(topic["size_in_bytes"].as_u64().unwrap() > 0, "{topic}");

    let sub = &get(server.local_addr(), "/entities/t/Subscriptions/s").await["runtime"];
    assert_eq!(sub["active_message_count"], 1, "{sub}");
    assert_eq!(sub["total_message_count"], 1, "{sub}");
    assert!(sub.get("scheduled_message_count").is_none(), "{sub}");
    assert_eq!(sub["accessed_at"], "0001-01-01T00:00:00Z", "{sub}");
}

#[tokio::test]
async fn descriptions_report_the_entities_own_options_and_live_status() {
    let namespace = Namespace::in_memory();
    namespace
        .create_queue("next", EntityOptions::default())
        .unwrap();
    let forwarding = EntityOptions {
        requires_duplicate_detection: true,
        duplicate_detection_history_time_window: Duration::from_secs(60),
        forward_to: Some("next".into()),
        forward_dead_lettered_messages_to: Some("next".into()),
        auto_delete_on_idle: Duration::from_secs(600),
        ..EntityOptions::default()
    };
    namespace.create_queue("q", forwarding).unwrap();
    let topic = TopicOptions {
        default_message_time_to_live: Duration::from_secs(90),
        max_size_bytes: 2 << 20,
        requires_duplicate_detection: true,
        ..TopicOptions::default()
    };
    namespace.create_topic_with("t", topic).unwrap();
    namespace
        .set_status("q", EntityStatus::SendDisabled)
        .unwrap();
    let server = start(&namespace).await;

    let p = &get(server.local_addr(), "/entities/q").await["properties"];
    assert_eq!(p["requires_duplicate_detection"], true, "{p}");
    assert_eq!(p["duplicate_detection_history_time_window"], "PT1M", "{p}");
    assert_eq!(p["forward_to"], "next", "{p}");
    assert_eq!(p["forward_dead_lettered_messages_to"], "next", "{p}");
    assert_eq!(p["auto_delete_on_idle"], "PT10M", "{p}");
    assert_eq!(p["status"], "SendDisabled", "{p}");

    let p = &get(server.local_addr(), "/entities/t").await["properties"];
    assert_eq!(p["default_message_time_to_live"], "PT1M30S", "{p}");
    assert_eq!(p["max_size_in_megabytes"], 2, "{p}");
    assert_eq!(p["requires_duplicate_detection"], true, "{p}");
    assert_eq!(p["status"], "Active", "{p}");
}
