//! One topic fan-out doing everything at once: duplicate detection at the topic before any
//! rule, then per subscription its status, its rules, the topic's TTL cap and auto-forwarding
//! of what a forwarding subscription admits.
#![allow(clippy::unwrap_used)]

use crate::rules_support;

use std::time::{Duration, SystemTime};

use berth_emulator::entity::{EntityOptions, EntityStatus, Namespace, ReceiveMode, TopicOptions};
use berth_emulator::filter::RuleSet;
use rules_support::{by_color, drain, message};

fn red_only() -> RuleSet {
    RuleSet::of(vec![by_color("red", "red")]).unwrap()
}

#[tokio::test]
async fn duplicates_are_dropped_at_the_topic_before_rules_run() {
    let ns = Namespace::in_memory();
    let options = TopicOptions {
        requires_duplicate_detection: true,
        ..TopicOptions::default()
    };
    ns.create_topic_with("events", options).unwrap();
    ns.create_subscription_with_rules("events", "red", EntityOptions::default(), red_only())
        .unwrap();
    ns.create_subscription("events", "all", EntityOptions::default())
        .unwrap();
    let sender = ns.sender("events").unwrap();
    let first = message("a", None, Some("red")).with_message_id("id-1");
    let again = message("b", None, Some("red")).with_message_id("id-1");
    let blue = message("c", None, Some("blue")).with_message_id("id-2");
    sender
        .send_batch(&[first, again, blue.clone()])
        .await
        .unwrap();
    sender.send(&blue).await.unwrap();

    assert_eq!(drain(&ns, "events/Subscriptions/red"), ["a"]);
    assert_eq!(drain(&ns, "events/Subscriptions/all"), ["a", "c"]);
}

#[tokio::test]
async fn a_forwarding_subscription_forwards_only_what_its_rules_admit() {
    let ns = Namespace::in_memory();
    ns.create_queue("sink", EntityOptions::default()).unwrap();
    ns.create_topic("events").unwrap();
    let forwarding = EntityOptions {
        forward_to: Some("sink".into()),
        ..EntityOptions::default()
    };
    ns.create_subscription_with_rules("events", "red", forwarding, red_only())
        .unwrap();
    ns.sender("events")
        .unwrap()
        .send_batch(&[
            message("r1", None, Some("red")),
            message("b1", None, Some("blue")),
            message("r2", None, Some("red")),
        ])
        .await
        .unwrap();

    assert_eq!(drain(&ns, "sink"), ["r1", "r2"]);
    assert!(drain(&ns, "events/Subscriptions/red").is_empty());
}

#[tokio::test]
async fn a_disabled_subscription_takes_no_copy_whatever_its_rules() {
    let ns = Namespace::in_memory();
    ns.create_topic("events").unwrap();
    ns.create_subscription_with_rules("events", "red", EntityOptions::default(), red_only())
        .unwrap();
    ns.set_status("events/Subscriptions/red", EntityStatus::SendDisabled)
        .unwrap();
    ns.sender("events")
        .unwrap()
        .send(&message("r1", None, Some("red")))
        .await
        .unwrap();
    ns.set_status("events/Subscriptions/red", EntityStatus::Active)
        .unwrap();

    assert!(drain(&ns, "events/Subscriptions/red").is_empty());
}

#[tokio::test]
async fn the_topic_ttl_caps_every_admitted_copy() {
    let ns = Namespace::in_memory();
    let options = TopicOptions {
        default_message_time_to_live: Duration::from_secs(60),
        ..TopicOptions::default()
    };
    ns.create_topic_with("events", options).unwrap();
    ns.create_subscription_with_rules("events", "red", EntityOptions::default(), red_only())
        .unwrap();
    let before = SystemTime::now();
    ns.sender("events")
        .unwrap()
        .send(&message("r1", None, Some("red")).with_time_to_live(Duration::from_secs(3600)))
        .await
        .unwrap();

    let copy = ns
        .receiver("events/Subscriptions/red")
        .unwrap()
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .expect("the red copy");
    let expires = copy.expires_at.expect("a capped copy expires");
    assert!(
        expires <= before + Duration::from_secs(61),
        "expires {expires:?}, sent {before:?}: the topic's 60 s should cap the message's 1 h"
    );
}

/// A forwarding queue's scheduled message is renumbered when due (props) and then forwarded
/// (fidelity): after a restart it is neither back in the source nor forwarded twice.
#[tokio::test]
async fn an_activated_scheduled_message_is_renumbered_then_forwarded_once_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("berth-fan-out-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("dest", EntityOptions::default()).unwrap();
        let forwarding = EntityOptions {
            forward_to: Some("dest".into()),
            ..EntityOptions::default()
        };
        ns.create_queue("src", forwarding).unwrap();
        let soon = SystemTime::now() + Duration::from_millis(300);
        ns.send(
            "src",
            &message("s", None, None).with_scheduled_enqueue_time(soon),
        )
        .await
        .unwrap();
        let moved = tokio::time::timeout(
            Duration::from_secs(10),
            ns.receiver("dest").unwrap().receive(ReceiveMode::PeekLock),
        )
        .await
        .expect("the scheduled message was not forwarded at its time")
        .unwrap();
        assert_eq!(rules_support::body_of(&moved.body), "s");
        ns.flush().await.unwrap();
    }
    let ns = Namespace::open(&dir).await.unwrap();
    let src = ns.receiver("src").unwrap().counts().unwrap();
    assert_eq!(
        (src.active, src.scheduled),
        (0, 0),
        "source after restart: {src:?}"
    );
    assert_eq!(drain(&ns, "dest"), ["s"], "forwarded exactly once");
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}
