//! Topics: fan-out to subscriptions, scheduling across them, deletion.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    EntityError, EntityOptions, Namespace, NewMessage, Node, ReceiveMode,
};

fn topic_with(subs: &[&str]) -> Namespace {
    let ns = Namespace::in_memory();
    ns.create_topic("events").unwrap();
    for s in subs {
        ns.create_subscription("events", s, EntityOptions::default())
            .unwrap();
    }
    ns
}

#[tokio::test]
async fn a_send_fans_out_to_every_subscription_with_one_sequence_number() {
    let ns = topic_with(&["a", "b"]);
    let seq = ns.send("events", &NewMessage::new("hello")).await.unwrap();
    for sub in ["events/Subscriptions/a", "events/subscriptions/b"] {
        let h = ns.receiver(sub).unwrap();
        let m = h
            .try_receive(ReceiveMode::ReceiveAndDelete, None)
            .unwrap()
            .unwrap();
        assert_eq!((m.sequence_number, m.body.as_ref()), (seq, &b"hello"[..]));
    }
}

#[tokio::test]
async fn without_subscriptions_a_send_is_accepted_and_dropped() {
    let ns = topic_with(&[]);
    assert_eq!(ns.send("events", &NewMessage::new("x")).await.unwrap(), 1);
    ns.create_subscription("events", "late", EntityOptions::default())
        .unwrap();
    let late = ns.receiver("events/Subscriptions/late").unwrap();
    assert!(late
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    assert_eq!(ns.send("events", &NewMessage::new("y")).await.unwrap(), 2);
    assert!(late
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn a_session_subscription_refuses_messages_without_session() {
    let ns = topic_with(&["plain"]);
    ns.create_subscription(
        "events",
        "sessions",
        EntityOptions {
            requires_session: true,
            ..EntityOptions::default()
        },
    )
    .unwrap();
    let err = ns.send("events", &NewMessage::new("x")).await.unwrap_err();
    assert!(matches!(err, EntityError::NotAllowed(_)));
    let plain = ns.receiver("events/Subscriptions/plain").unwrap();
    assert!(
        plain
            .try_receive(ReceiveMode::PeekLock, None)
            .unwrap()
            .is_none(),
        "all or nothing"
    );
    ns.send("events", &NewMessage::new("y").with_session_id("s"))
        .await
        .unwrap();
    let s = ns.receiver("events/Subscriptions/sessions").unwrap();
    assert_eq!(
        s.try_accept_next_session(None)
            .unwrap()
            .unwrap()
            .session_id(),
        "s"
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_scheduled_topic_message_cancels_every_copy() {
    let ns = topic_with(&["a", "b"]);
    let sender = ns.sender("events").unwrap();
    let at = SystemTime::now() + Duration::from_secs(30);
    let (seq, _) = sender
        .enqueue(&NewMessage::new("x").with_scheduled_enqueue_time(at))
        .unwrap();
    let a = ns.receiver("events/Subscriptions/a").unwrap();
    assert_eq!(a.counts().unwrap().scheduled, 1);
    sender.cancel_scheduled(&[seq]).unwrap();
    for s in ["a", "b"] {
        let h = ns.receiver(&format!("events/Subscriptions/{s}")).unwrap();
        assert_eq!(h.counts().unwrap().scheduled, 0);
    }
}

#[tokio::test]
async fn deleting_a_topic_deletes_its_subscriptions() {
    let ns = topic_with(&["a"]);
    let sender = ns.sender("events").unwrap();
    let a = ns.receiver("events/Subscriptions/a").unwrap();
    assert!(matches!(ns.resolve("EVENTS").unwrap(), Node::Topic(_)));
    ns.delete("events").unwrap();
    assert!(matches!(
        sender.send(&NewMessage::new("x")).await,
        Err(EntityError::NotFound { .. })
    ));
    assert!(matches!(
        a.try_receive(ReceiveMode::PeekLock, None),
        Err(EntityError::NotFound { .. })
    ));
    assert!(ns.resolve("events/Subscriptions/a").is_err());
    assert!(ns.entities().is_empty());
}

#[tokio::test]
async fn entities_lists_paths_options_and_counts() {
    let ns = topic_with(&["a"]);
    ns.create_queue("q", EntityOptions::default()).unwrap();
    ns.send("events", &NewMessage::new("x")).await.unwrap();
    let list = ns.entities();
    let paths: Vec<&str> = list.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, vec!["events", "events/Subscriptions/a", "q"]);
    assert_eq!(list[1].counts.active, 1);
    assert!(list[0].options.is_none());
}
