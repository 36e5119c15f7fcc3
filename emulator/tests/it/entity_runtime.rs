//! Runtime properties as Azure's administration clients report them: counts by state, sizes,
//! a topic's scheduled messages kept at the topic, and created / updated / accessed times
//! (in memory and across a durable restart).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    Disposition, EntityOptions, MessageCountDetails, Namespace, NewMessage, Node, ReceiveMode,
    RuntimeProperties, ACCESS_LOG_GRANULARITY,
};

fn runtime(ns: &Namespace, path: &str) -> RuntimeProperties {
    ns.entities()
        .into_iter()
        .find(|e| e.path.eq_ignore_ascii_case(path))
        .unwrap_or_else(|| panic!("no entity {path}"))
        .runtime
}

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-runtime-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn later() -> SystemTime {
    SystemTime::now() + Duration::from_secs(3600)
}

#[tokio::test]
async fn a_queue_counts_messages_by_state_as_azure_does() {
    let ns = Namespace::in_memory();
    ns.create_queue("q", EntityOptions::default()).unwrap();
    let before = SystemTime::now();
    let RuntimeProperties::Queue(fresh) = runtime(&ns, "q") else {
        panic!("a queue reports queue properties")
    };
    assert_eq!(fresh.accessed_at, None, "never accessed yet");
    assert_eq!(fresh.created_at, fresh.updated_at);
    assert_eq!(fresh.counts, MessageCountDetails::default());

    let sender = ns.sender("q").unwrap();
    for body in ["a", "bb", "ccc", "dddd"] {
        sender.send(&NewMessage::new(body)).await.unwrap();
    }
    sender
        .send(&NewMessage::new("eeeee").with_scheduled_enqueue_time(later()))
        .await
        .unwrap();
    let q = ns.receiver("q").unwrap();
    let first = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let dead_letter = Disposition::DeadLetter {
        reason: Some("test".into()),
        description: None,
        body: None,
    };
    q.settle(&first.lock_token.unwrap(), dead_letter).unwrap();
    let second = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    q.settle(
        &second.lock_token.unwrap(),
        Disposition::Defer { body: None },
    )
    .unwrap();

    let RuntimeProperties::Queue(props) = runtime(&ns, "q") else {
        panic!("a queue reports queue properties")
    };
    assert_eq!(
        props.counts,
        MessageCountDetails {
            active: 3, // two plain, one deferred
            dead_letter: 1,
            scheduled: 1,
            transfer: 0,
            transfer_dead_letter: 0,
        }
    );
    assert_eq!(props.counts.total(), 5);
    let sizes: u64 = [first.body, second.body]
        .iter()
        .map(|b| b.len() as u64)
        .sum();
    assert!(
        props.size_in_bytes > sizes,
        "size counts every stored message"
    );
    let accessed = props
        .accessed_at
        .expect("sends and receives access a queue");
    assert!(accessed >= before && props.created_at <= before);
}

#[tokio::test]
async fn a_topic_keeps_its_scheduled_messages_and_its_subscriptions_do_not_show_them() {
    let ns = Namespace::in_memory();
    ns.create_topic("t").unwrap();
    for s in ["a", "b"] {
        ns.create_subscription("t", s, EntityOptions::default())
            .unwrap();
    }
    let sender = ns.sender("t").unwrap();
    let scheduled = sender
        .send(&NewMessage::new("later").with_scheduled_enqueue_time(later()))
        .await
        .unwrap();
    let now = sender.send(&NewMessage::new("now")).await.unwrap();

    let RuntimeProperties::Topic(topic) = runtime(&ns, "t") else {
        panic!("a topic reports topic properties")
    };
    assert_eq!(topic.subscription_count, 2);
    assert_eq!(
        topic.scheduled_message_count, 1,
        "counted once, at the topic"
    );
    assert!(topic.accessed_at.is_some(), "a send accesses the topic");
    for s in ["t/Subscriptions/a", "t/Subscriptions/b"] {
        let RuntimeProperties::Subscription(sub) = runtime(&ns, s) else {
            panic!("a subscription reports subscription properties")
        };
        assert_eq!(
            sub.counts.scheduled, 0,
            "{s}: scheduled messages wait at the topic"
        );
        assert_eq!(sub.counts.active, 1, "{s}");
        assert_eq!(sub.counts.total(), 1, "{s}");
        assert_eq!(
            sub.accessed_at, None,
            "{s}: a send to the topic is not a receive"
        );
        let peeked: Vec<i64> = ns
            .receiver(s)
            .unwrap()
            .peek(0, 10, None)
            .unwrap()
            .iter()
            .map(|m| m.sequence_number)
            .collect();
        assert_eq!(peeked, [now], "{s}: a subscription's peek leaves them out");
    }
    let Node::Topic(handle) = ns.resolve("t").unwrap() else {
        panic!("t is a topic")
    };
    let at_topic = handle.peek(0, 10).unwrap();
    assert_eq!(
        at_topic
            .iter()
            .map(|m| (m.sequence_number, m.body.len()))
            .collect::<Vec<_>>(),
        [(scheduled, 5)],
        "the topic's peek lists the scheduled message once"
    );
    ns.sender("t")
        .unwrap()
        .cancel_scheduled(&[scheduled])
        .unwrap();
    assert!(handle.peek(0, 10).unwrap().is_empty(), "cancelled");
}

#[tokio::test]
async fn only_receive_requests_access_a_subscription_and_peeking_accesses_nothing() {
    let ns = Namespace::in_memory();
    ns.create_topic("t").unwrap();
    ns.create_subscription("t", "s", EntityOptions::default())
        .unwrap();
    let sub = ns.receiver("t/Subscriptions/s").unwrap();
    sub.peek(0, 10, None).unwrap();
    let RuntimeProperties::Subscription(peeked) = runtime(&ns, "t/Subscriptions/s") else {
        panic!("a subscription")
    };
    assert_eq!(
        peeked.accessed_at, None,
        "peeking is browsing, not receiving"
    );
    assert!(sub
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let RuntimeProperties::Subscription(received) = runtime(&ns, "t/Subscriptions/s") else {
        panic!("a subscription")
    };
    assert!(
        received.accessed_at.is_some(),
        "a receive request counts even when it finds nothing"
    );
    let RuntimeProperties::Topic(topic) = runtime(&ns, "t") else {
        panic!("a topic")
    };
    assert_eq!(
        topic.accessed_at, None,
        "receiving from a subscription is not a send"
    );
}

#[tokio::test]
async fn times_survive_a_restart_and_a_compaction() {
    let dir = temp_dir("times");
    let (queue, topic, sub);
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        ns.create_topic("t").unwrap();
        ns.create_subscription("t", "s", EntityOptions::default())
            .unwrap();
        ns.send("q", &NewMessage::new("x")).await.unwrap();
        ns.send("t", &NewMessage::new("y")).await.unwrap();
        ns.receiver("t/Subscriptions/s")
            .unwrap()
            .try_receive(ReceiveMode::ReceiveAndDelete, None)
            .unwrap();
        ns.flush().await.unwrap();
        queue = runtime(&ns, "q");
        topic = runtime(&ns, "t");
        sub = runtime(&ns, "t/Subscriptions/s");
    }
    for compact in [false, true] {
        let ns = Namespace::open(&dir).await.unwrap();
        let what = if compact {
            "after compaction"
        } else {
            "after a restart"
        };
        assert_same_times(&queue, &runtime(&ns, "q"), what);
        assert_same_times(&topic, &runtime(&ns, "t"), what);
        assert_same_times(&sub, &runtime(&ns, "t/Subscriptions/s"), what);
        if !compact {
            ns.compact().await.unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn times(r: &RuntimeProperties) -> (SystemTime, SystemTime, Option<SystemTime>) {
    match r {
        RuntimeProperties::Queue(q) => (q.created_at, q.updated_at, q.accessed_at),
        RuntimeProperties::Topic(t) => (t.created_at, t.updated_at, t.accessed_at),
        RuntimeProperties::Subscription(s) => (s.created_at, s.updated_at, s.accessed_at),
    }
}

/// Created and updated to the millisecond; accessed within the logging granularity.
fn assert_same_times(before: &RuntimeProperties, after: &RuntimeProperties, what: &str) {
    let ms = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    };
    let (c0, u0, a0) = times(before);
    let (c1, u1, a1) = times(after);
    assert_eq!((ms(c0), ms(u0)), (ms(c1), ms(u1)), "{what}: {after:?}");
    let (a0, a1) = (a0.expect("accessed before"), a1.expect("accessed kept"));
    let gap = a0.duration_since(a1).unwrap_or_default();
    assert!(
        gap <= ACCESS_LOG_GRANULARITY && a1 <= a0 + Duration::from_millis(1),
        "{what}: accessed {a1:?}, was {a0:?}"
    );
}
