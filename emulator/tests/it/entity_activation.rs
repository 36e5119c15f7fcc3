//! Scheduled messages turning active: Azure appends them "as if enqueued at the current
//! instant, which includes assigning a new SequenceNumber"; every copy of a topic message gets
//! the same new number; the new number survives a restart, and a message that came due while
//! the broker was down is renumbered when it comes back.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use berth_emulator::entity::{
    EntityOptions, MessageState, Namespace, NewMessage, Node, ReceiveMode,
};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-activation-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test(start_paused = true)]
async fn a_queue_renumbers_a_scheduled_message_when_it_turns_active() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", EntityOptions::default()).unwrap();
    let at = SystemTime::now() + Duration::from_secs(60);
    let sender = ns.sender("q").unwrap();
    let scheduled = sender
        .send(&NewMessage::new("later").with_scheduled_enqueue_time(at))
        .await
        .unwrap();
    let meanwhile = sender.send(&NewMessage::new("now")).await.unwrap();
    let q = ns.receiver("q").unwrap();
    let first = q.receive(ReceiveMode::ReceiveAndDelete).await.unwrap();
    assert_eq!(first.sequence_number, meanwhile);
    let later = q.receive(ReceiveMode::PeekLock).await.unwrap();
    assert_eq!(
        (later.sequence_number, later.state, later.enqueued_time),
        (meanwhile + 1, MessageState::Active, at),
        "appended after the messages sent meanwhile, enqueued at its time"
    );
    sender.cancel_scheduled(&[scheduled]).unwrap();
    let peeked = q.peek(0, 10, None).unwrap();
    assert_eq!(
        peeked.iter().map(|m| m.sequence_number).collect::<Vec<_>>(),
        [meanwhile + 1],
        "the old number no longer names it: cancelling it does nothing"
    );
    let next = sender.send(&NewMessage::new("after")).await.unwrap();
    assert_eq!(next, meanwhile + 2, "the queue's counter moved on");
}

#[tokio::test(start_paused = true)]
async fn every_copy_of_a_topic_message_gets_the_same_new_number() {
    let ns = Namespace::in_memory();
    ns.create_topic("t").unwrap();
    for s in ["a", "b", "c"] {
        ns.create_subscription("t", s, EntityOptions::default())
            .unwrap();
    }
    let at = SystemTime::now() + Duration::from_secs(60);
    let sender = ns.sender("t").unwrap();
    let scheduled = sender
        .send(&NewMessage::new("later").with_scheduled_enqueue_time(at))
        .await
        .unwrap();
    let meanwhile = sender.send(&NewMessage::new("now")).await.unwrap();
    assert!(meanwhile > scheduled);
    for s in ["a", "b", "c"] {
        let sub = ns.receiver(&format!("t/Subscriptions/{s}")).unwrap();
        let first = sub.receive(ReceiveMode::ReceiveAndDelete).await.unwrap();
        assert_eq!(first.sequence_number, meanwhile, "{s}");
        let later = sub.receive(ReceiveMode::ReceiveAndDelete).await.unwrap();
        assert_eq!(
            (later.sequence_number, later.enqueued_time),
            (meanwhile + 1, at),
            "{s}: one new number from the topic for every copy"
        );
    }
    let Node::Topic(topic) = ns.resolve("t").unwrap() else {
        panic!("t is a topic")
    };
    assert!(
        topic.peek(0, 10).unwrap().is_empty(),
        "nothing scheduled is left"
    );
    assert_eq!(
        sender.send(&NewMessage::new("after")).await.unwrap(),
        meanwhile + 2
    );
}

/// Waits (polling, with a deadline) until the wall clock has passed `at`.
async fn wait_past(at: SystemTime) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while SystemTime::now() <= at {
        assert!(Instant::now() < deadline, "the clock never passed {at:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn new_numbers_survive_a_restart_and_due_messages_are_renumbered_on_recovery() {
    let dir = temp_dir("restart");
    let (activated, due, meanwhile);
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        let soon = SystemTime::now() + Duration::from_millis(200);
        let sender = ns.sender("q").unwrap();
        sender
            .send(&NewMessage::new("soon").with_scheduled_enqueue_time(soon))
            .await
            .unwrap();
        meanwhile = sender.send(&NewMessage::new("now")).await.unwrap();
        let q = ns.receiver("q").unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        let renumbered = loop {
            let peeked = q.peek(0, 10, None).unwrap();
            if let Some(m) = peeked
                .iter()
                .find(|m| m.state == MessageState::Active && m.body == "soon")
            {
                break m.sequence_number;
            }
            assert!(
                Instant::now() < deadline,
                "`soon` never turned active: {peeked:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(renumbered, meanwhile + 1);
        activated = renumbered;
        // Scheduled now, due while the namespace is closed.
        let closed_at = SystemTime::now() + Duration::from_millis(200);
        due = sender
            .send(&NewMessage::new("due").with_scheduled_enqueue_time(closed_at))
            .await
            .unwrap();
        ns.flush().await.unwrap();
        drop(ns);
        wait_past(closed_at).await;
    }
    let ns = Namespace::open(&dir).await.unwrap();
    let peeked: Vec<(String, i64, MessageState)> = ns
        .receiver("q")
        .unwrap()
        .peek(0, 10, None)
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                String::from_utf8_lossy(&m.body).into_owned(),
                m.sequence_number,
                m.state,
            )
        })
        .collect();
    assert_eq!(
        peeked,
        [
            ("now".to_owned(), meanwhile, MessageState::Active),
            ("soon".to_owned(), activated, MessageState::Active),
            ("due".to_owned(), due + 1, MessageState::Active),
        ],
        "the activated message keeps its new number; the one due while closed gets one"
    );
    let next = ns.send("q", &NewMessage::new("next")).await.unwrap();
    assert_eq!(next, due + 2);
    let _ = std::fs::remove_dir_all(&dir);
}
