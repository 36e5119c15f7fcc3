//! Entity status (Active, Disabled, SendDisabled, ReceiveDisabled) enforced with Service Bus's
//! error, auto-delete on idle driven by Tokio's paused clock, and the topic options that apply
//! to subscriptions' copies (default time to live, max size).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use berth_emulator::entity::{
    EntitiesConfig, EntityError, EntityOptions, EntityStatus, Namespace, NewMessage, ReceiveMode,
    TopicOptions, IDLE_SWEEP_EVERY,
};

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-status-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn disabled(err: &EntityError) -> bool {
    err.condition() == "com.microsoft:entity-disabled" && err.to_string().contains("disabled")
}

#[tokio::test]
async fn each_status_refuses_what_it_disables() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", EntityOptions::default()).unwrap();
    ns.send("q", &NewMessage::new("m")).await.unwrap();
    let h = ns.receiver("q").unwrap();
    let cases = [
        (EntityStatus::Active, true, true),
        (EntityStatus::Disabled, false, false),
        (EntityStatus::SendDisabled, false, true),
        (EntityStatus::ReceiveDisabled, true, false),
    ];
    for (status, sends, receives) in cases {
        ns.set_status("q", status).unwrap();
        assert_eq!(h.status(), status);
        let send = ns.send("q", &NewMessage::new("x")).await;
        assert_eq!(send.is_ok(), sends, "{status}: {send:?}");
        if let Err(e) = send {
            assert!(disabled(&e), "{e}");
        }
        let peek = h.peek(0, 1, None);
        let receive = h.try_receive(ReceiveMode::PeekLock, None);
        assert_eq!(receive.is_ok(), receives, "{status}");
        assert_eq!(peek.is_ok(), receives, "{status}");
        if let Err(e) = receive {
            assert!(disabled(&e), "{e}");
            assert_eq!(e.status_code(), 400);
        }
        if let Ok(Some(m)) = h.try_receive(ReceiveMode::PeekLock, None) {
            let _ = h.settle(
                &m.lock_token.unwrap(),
                berth_emulator::entity::Disposition::Release,
            );
        }
    }
    let text = EntityError::Disabled {
        path: "q".into(),
        status: EntityStatus::SendDisabled,
    }
    .to_string();
    assert_eq!(
        text,
        "Messaging entity 'q' is currently disabled for send operations."
    );
}

#[tokio::test]
async fn a_topics_status_covers_its_subscriptions() {
    let ns = Namespace::in_memory();
    ns.create_topic_with(
        "t",
        TopicOptions {
            status: EntityStatus::ReceiveDisabled,
            ..TopicOptions::default()
        },
    )
    .unwrap();
    ns.create_subscription("t", "s", EntityOptions::default())
        .unwrap();
    ns.send("t", &NewMessage::new("m")).await.unwrap();
    let sub = ns.receiver("t/Subscriptions/s").unwrap();
    let err = sub.try_receive(ReceiveMode::PeekLock, None).unwrap_err();
    assert!(disabled(&err), "{err}");
    ns.set_status("t", EntityStatus::SendDisabled).unwrap();
    assert!(sub
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_some());
    let err = ns.send("t", &NewMessage::new("n")).await.unwrap_err();
    assert!(disabled(&err), "{err}");
    ns.set_status("t/Subscriptions/s", EntityStatus::Disabled)
        .unwrap();
    ns.set_status("t", EntityStatus::Active).unwrap();
    ns.send("t", &NewMessage::new("skipped")).await.unwrap();
    ns.set_status("t/Subscriptions/s", EntityStatus::Active)
        .unwrap();
    assert_eq!(
        sub.counts().unwrap().active,
        1,
        "a disabled subscription took no copy"
    );
}

#[tokio::test]
async fn a_status_survives_a_restart() {
    let dir = temp_dir("restart");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue(
            "q",
            EntityOptions {
                status: EntityStatus::SendDisabled,
                ..EntityOptions::default()
            },
        )
        .unwrap();
        ns.create_topic("t").unwrap();
        ns.set_status("t", EntityStatus::Disabled).unwrap();
        ns.set_status("q", EntityStatus::ReceiveDisabled).unwrap();
        ns.flush().await.unwrap();
    }
    for _ in 0..2 {
        let ns = Namespace::open(&dir).await.unwrap();
        assert_eq!(
            ns.receiver("q").unwrap().status(),
            EntityStatus::ReceiveDisabled
        );
        let topic = ns.entities().into_iter().find(|e| e.path == "t").unwrap();
        assert_eq!(topic.topic_options.unwrap().status, EntityStatus::Disabled);
        ns.compact().await.unwrap();
        ns.flush().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn idle_after(minutes: u64) -> EntityOptions {
    EntityOptions {
        auto_delete_on_idle: Duration::from_secs(minutes * 60),
        ..EntityOptions::default()
    }
}

/// Lets the sweeper run at every tick up to `by` from now (paused time).
async fn pass(by: Duration) {
    let step = IDLE_SWEEP_EVERY / 2;
    let mut passed = Duration::ZERO;
    while passed < by {
        tokio::time::advance(step).await;
        tokio::task::yield_now().await;
        passed += step;
    }
}

fn exists(ns: &Namespace, path: &str) -> bool {
    ns.entities().iter().any(|e| e.path == path)
}

#[tokio::test(start_paused = true)]
async fn an_idle_queue_is_deleted_and_activity_keeps_it() {
    let ns = Namespace::in_memory();
    ns.create_queue("idle", idle_after(5)).unwrap();
    ns.create_queue("busy", idle_after(5)).unwrap();
    ns.create_queue("forever", EntityOptions::default())
        .unwrap();
    for _ in 0..4 {
        pass(Duration::from_secs(90)).await;
        ns.send("busy", &NewMessage::new("still here"))
            .await
            .unwrap();
    }
    assert!(!exists(&ns, "idle"), "idle 6 minutes with a 5-minute limit");
    assert!(exists(&ns, "busy"), "a send every 90 s keeps it");
    assert!(exists(&ns, "forever"));
    pass(Duration::from_secs(5 * 60) + IDLE_SWEEP_EVERY).await;
    assert!(!exists(&ns, "busy"));
    assert!(exists(&ns, "forever"));
}

#[tokio::test(start_paused = true)]
async fn scheduled_messages_and_subscription_activity_keep_a_topic() {
    let ns = Namespace::in_memory();
    ns.create_topic_with(
        "t",
        TopicOptions {
            auto_delete_on_idle: Duration::from_secs(300),
            ..TopicOptions::default()
        },
    )
    .unwrap();
    ns.create_subscription("t", "s", EntityOptions::default())
        .unwrap();
    ns.create_queue("q", idle_after(5)).unwrap();
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    ns.send(
        "q",
        &NewMessage::new("later").with_scheduled_enqueue_time(later),
    )
    .await
    .unwrap();
    let sub = ns.receiver("t/Subscriptions/s").unwrap();
    for _ in 0..4 {
        pass(Duration::from_secs(120)).await;
        assert!(sub
            .try_receive(ReceiveMode::PeekLock, None)
            .unwrap()
            .is_none());
    }
    assert!(
        exists(&ns, "t"),
        "receives on its subscription keep the topic"
    );
    assert!(exists(&ns, "q"), "a scheduled message keeps the queue");
    pass(Duration::from_secs(300) + IDLE_SWEEP_EVERY).await;
    assert!(!exists(&ns, "t"));
    assert!(!exists(&ns, "t/Subscriptions/s"), "deleted with its topic");
    assert!(matches!(
        sub.try_receive(ReceiveMode::PeekLock, None),
        Err(EntityError::NotFound { .. })
    ));
}

#[test]
fn auto_delete_on_idle_is_at_least_five_minutes() {
    let ns = Namespace::in_memory();
    let err = ns.create_queue("q", idle_after(4)).unwrap_err();
    assert!(err.to_string().contains("auto_delete_on_idle"), "{err}");
    let err = ns
        .create_topic_with(
            "t",
            TopicOptions {
                auto_delete_on_idle: Duration::from_secs(299),
                ..TopicOptions::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("5 minutes"), "{err}");
}

#[tokio::test]
async fn a_topics_default_ttl_and_max_size_apply_to_every_copy() {
    let ns = Namespace::in_memory();
    ns.create_topic_with(
        "t",
        TopicOptions {
            default_message_time_to_live: Duration::from_secs(60),
            max_size_bytes: 10,
            ..TopicOptions::default()
        },
    )
    .unwrap();
    ns.create_subscription("t", "s", EntityOptions::default())
        .unwrap();
    let before = std::time::SystemTime::now();
    ns.send(
        "t",
        &NewMessage::new("12345").with_time_to_live(Duration::from_secs(3600)),
    )
    .await
    .unwrap();
    let copy = ns
        .receiver("t/Subscriptions/s")
        .unwrap()
        .peek(0, 1, None)
        .unwrap();
    let expires = copy[0].expires_at.unwrap();
    assert!(
        expires <= before + Duration::from_secs(61),
        "capped by the topic's TTL"
    );
    let err = ns.send("t", &NewMessage::new("123456")).await.unwrap_err();
    assert!(
        matches!(err, EntityError::QuotaExceeded { max: 10, .. }),
        "{err}"
    );
}

#[test]
fn the_entities_toml_takes_the_new_options_and_names_unknown_ones() {
    let config = EntitiesConfig::from_toml(
        r#"
[[queues]]
name = "dest"
[[queues]]
name = "src"
forward_to = "dest"
forward_dead_lettered_messages_to = "dest"
requires_duplicate_detection = true
duplicate_detection_history_time_window = "1m"
status = "SendDisabled"
auto_delete_on_idle = "1h"

[[topics]]
name = "t"
requires_duplicate_detection = true
default_message_time_to_live = "1d"
max_size_in_megabytes = 2
status = "ReceiveDisabled"
auto_delete_on_idle = "10m"
[[topics.subscriptions]]
name = "s"
forward_to = "dest"
"#,
    )
    .unwrap();
    let src = config.queues[1].options();
    assert_eq!(src.forward_to.as_deref(), Some("dest"));
    assert_eq!(
        src.duplicate_detection_history_time_window,
        Duration::from_secs(60)
    );
    assert_eq!(src.status, EntityStatus::SendDisabled);
    let t = config.topics[0].options();
    assert_eq!(t.max_size_bytes, 2 << 20);
    assert_eq!(t.status, EntityStatus::ReceiveDisabled);
    assert_eq!(t.auto_delete_on_idle, Duration::from_secs(600));
    let err = EntitiesConfig::from_toml("[[topics]]\nname = \"t\"\nenable_partitioning = true\n")
        .unwrap_err();
    assert!(err.contains("enable_partitioning"), "{err}");
    let err =
        EntitiesConfig::from_toml("[[queues]]\nname = \"q\"\nstatus = \"Paused\"\n").unwrap_err();
    assert!(err.contains("Paused"), "{err}");
}

#[test]
fn configured_entities_are_created_destinations_first() {
    let config = EntitiesConfig::from_toml(
        r#"
[[queues]]
name = "src"
forward_to = "events"
[[topics]]
name = "events"
[[topics.subscriptions]]
name = "s"
forward_to = "sink"
[[queues]]
name = "sink"
"#,
    )
    .unwrap();
    let ns = Namespace::in_memory();
    ns.apply_config(&config).unwrap();
    assert_eq!(ns.entities().len(), 4);
    let missing =
        EntitiesConfig::from_toml("[[queues]]\nname = \"a\"\nforward_to = \"nowhere\"\n").unwrap();
    let err = Namespace::in_memory().apply_config(&missing).unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
}
