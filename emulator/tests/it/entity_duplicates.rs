//! Duplicate detection on queues and topics: a repeated message id inside the window is
//! accepted and dropped (sessions and scheduled messages included), and the history survives
//! a durable restart.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    EntityError, EntityOptions, Namespace, NewMessage, ReceiveMode, TopicOptions,
};

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-dedup-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn detecting(window: Duration) -> EntityOptions {
    EntityOptions {
        requires_duplicate_detection: true,
        duplicate_detection_history_time_window: window,
        ..EntityOptions::default()
    }
}

fn msg(body: &str, id: &str) -> NewMessage {
    NewMessage::new(body.to_owned()).with_message_id(id)
}

/// A topic that requires duplicate detection, with subscriptions `subs`.
fn detecting_topic(ns: &Namespace, subs: &[&str]) {
    let options = TopicOptions {
        requires_duplicate_detection: true,
        ..TopicOptions::default()
    };
    ns.create_topic_with("t", options).unwrap();
    for s in subs {
        ns.create_subscription("t", s, EntityOptions::default())
            .unwrap();
    }
}

/// Bodies of every message in `path`, taken out.
fn drain(ns: &Namespace, path: &str) -> Vec<String> {
    let h = ns.receiver(path).unwrap();
    let mut out = Vec::new();
    while let Some(m) = h.try_receive(ReceiveMode::ReceiveAndDelete, None).unwrap() {
        out.push(String::from_utf8(m.body.to_vec()).unwrap());
    }
    out
}

#[tokio::test]
async fn a_repeated_message_id_is_accepted_and_dropped() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", detecting(Duration::from_secs(60)))
        .unwrap();
    let first = ns.send("q", &msg("one", "order-1")).await.unwrap();
    let again = ns.send("q", &msg("one again", "order-1")).await.unwrap();
    assert_eq!(
        again, first,
        "the duplicate reports the kept message's number"
    );
    ns.send("q", &msg("two", "order-2")).await.unwrap();
    ns.send("q", &NewMessage::new("no id")).await.unwrap();
    ns.send("q", &NewMessage::new("no id")).await.unwrap();
    assert_eq!(drain(&ns, "q"), ["one", "two", "no id", "no id"]);
    let counts = ns.receiver("q").unwrap().counts().unwrap();
    assert_eq!(counts.active, 0);
}

#[tokio::test]
async fn duplicates_inside_one_batch_are_dropped_too() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", detecting(Duration::from_secs(60)))
        .unwrap();
    let sender = ns.sender("q").unwrap();
    let seqs = sender
        .send_batch(&[msg("a", "x"), msg("b", "x"), msg("c", "y")])
        .await
        .unwrap();
    assert_eq!(seqs[0], seqs[1]);
    assert_eq!(drain(&ns, "q"), ["a", "c"]);
}

#[tokio::test]
async fn without_duplicate_detection_repeats_are_kept() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", EntityOptions::default()).unwrap();
    ns.send("q", &msg("a", "x")).await.unwrap();
    ns.send("q", &msg("b", "x")).await.unwrap();
    assert_eq!(drain(&ns, "q"), ["a", "b"]);
}

#[tokio::test]
async fn sessions_do_not_separate_message_ids() {
    let ns = Namespace::in_memory();
    ns.create_queue(
        "q",
        EntityOptions {
            requires_session: true,
            ..detecting(Duration::from_secs(60))
        },
    )
    .unwrap();
    ns.send("q", &msg("a", "x").with_session_id("s1"))
        .await
        .unwrap();
    ns.send("q", &msg("b", "x").with_session_id("s2"))
        .await
        .unwrap();
    let h = ns.receiver("q").unwrap();
    assert_eq!(h.counts().unwrap().active, 1);
    assert!(h
        .accept_session("s2")
        .unwrap()
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_duplicate_scheduled_message_is_dropped_and_cancelling_its_number_cancels_the_kept_one() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", detecting(Duration::from_secs(60)))
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let sender = ns.sender("q").unwrap();
    let kept = sender
        .send(&msg("a", "x").with_scheduled_enqueue_time(later))
        .await
        .unwrap();
    let dup = sender
        .send(&msg("b", "x").with_scheduled_enqueue_time(later))
        .await
        .unwrap();
    assert_eq!(dup, kept);
    let h = ns.receiver("q").unwrap();
    assert_eq!(h.counts().unwrap().scheduled, 1);
    sender
        .cancel_scheduled(&[dup])
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(h.counts().unwrap().scheduled, 0);
}

#[tokio::test(start_paused = true)]
async fn an_id_is_new_again_once_the_window_passed() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", detecting(Duration::from_secs(20)))
        .unwrap();
    ns.send("q", &msg("a", "x")).await.unwrap();
    tokio::time::advance(Duration::from_secs(19)).await;
    ns.send("q", &msg("b", "x")).await.unwrap();
    tokio::time::advance(Duration::from_secs(2)).await;
    ns.send("q", &msg("c", "x")).await.unwrap();
    assert_eq!(drain(&ns, "q"), ["a", "c"]);
}

#[tokio::test]
async fn a_topic_drops_duplicates_before_fan_out() {
    let ns = Namespace::in_memory();
    detecting_topic(&ns, &["a", "b"]);
    ns.send("t", &msg("one", "x")).await.unwrap();
    ns.send("t", &msg("dup", "x")).await.unwrap();
    ns.send("t", &msg("two", "y")).await.unwrap();
    for s in ["t/Subscriptions/a", "t/Subscriptions/b"] {
        assert_eq!(drain(&ns, s), ["one", "two"], "{s}");
    }
}

#[test]
fn the_window_and_the_entity_kind_are_checked() {
    let ns = Namespace::in_memory();
    for window in [Duration::from_secs(19), Duration::from_secs(7 * 86_400 + 1)] {
        let err = ns.create_queue("q", detecting(window)).unwrap_err();
        assert!(
            matches!(&err, EntityError::ArgumentOutOfRange(t) if t.contains("duplicate_detection_history_time_window")),
            "{err}"
        );
    }
    ns.create_topic("t").unwrap();
    let err = ns
        .create_subscription("t", "s", detecting(Duration::from_secs(60)))
        .unwrap_err();
    assert!(err.to_string().contains("subscription"), "{err}");
    assert_eq!(
        EntityOptions::default().duplicate_detection_history_time_window,
        Duration::from_secs(600),
        "Service Bus's default window"
    );
}

#[tokio::test]
async fn the_history_survives_a_restart_and_a_compaction() {
    let dir = temp_dir("restart");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", detecting(Duration::from_secs(600)))
            .unwrap();
        detecting_topic(&ns, &["s"]);
        ns.send("q", &msg("a", "x")).await.unwrap();
        ns.send("t", &msg("a", "x")).await.unwrap();
        assert_eq!(
            drain(&ns, "q"),
            ["a"],
            "completed: only the history remains"
        );
        ns.flush().await.unwrap();
    }
    for round in ["after a restart", "after a compaction"] {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.send("q", &msg("b", "x")).await.unwrap();
        ns.send("t", &msg("b", "x")).await.unwrap();
        assert_eq!(drain(&ns, "q"), Vec::<String>::new(), "{round}");
        assert!(
            ns.receiver("q")
                .unwrap()
                .options()
                .requires_duplicate_detection
        );
        let on_sub = drain(&ns, "t/Subscriptions/s");
        assert!(on_sub.iter().all(|b| b == "a"), "{round}: {on_sub:?}");
        ns.compact().await.unwrap();
        ns.flush().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
