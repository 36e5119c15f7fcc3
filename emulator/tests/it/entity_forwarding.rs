//! Auto-forwarding: `forward_to` and `forward_dead_lettered_messages_to` on queues and
//! subscriptions, chains, loops and the hop limit, the transfer dead-letter sub-queue, and
//! what survives a restart.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    Disposition, EntityError, EntityOptions, EntityStatus, Namespace, NewMessage, ReceiveMode,
    ReceivedMessage, MAX_TRANSFER_HOP_COUNT_EXCEEDED,
};

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-forward-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn forwarding_to(target: &str) -> EntityOptions {
    EntityOptions {
        forward_to: Some(target.to_owned()),
        ..EntityOptions::default()
    }
}

fn take(ns: &Namespace, path: &str) -> Option<ReceivedMessage> {
    ns.receiver(path)
        .unwrap()
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
}

fn dead_letters_to(target: &str) -> EntityOptions {
    EntityOptions {
        forward_dead_lettered_messages_to: Some(target.to_owned()),
        ..EntityOptions::default()
    }
}

/// Receives one message of `path` and dead-letters it with `reason`.
async fn dead_letter_one(ns: &Namespace, path: &str, reason: &str, description: Option<&str>) {
    let h = ns.receiver(path).unwrap();
    let m = h.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let disposition = Disposition::DeadLetter {
        reason: Some(reason.to_owned()),
        description: description.map(str::to_owned),
        body: None,
    };
    h.settle(&m.lock_token.unwrap(), disposition)
        .unwrap()
        .wait()
        .await
        .unwrap();
}

fn reason(m: &ReceivedMessage) -> Option<&str> {
    m.dead_letter.as_ref().and_then(|d| d.reason.as_deref())
}

#[tokio::test]
async fn a_message_moves_on_with_the_destinations_number_and_its_own_bytes() {
    let ns = Namespace::in_memory();
    ns.create_queue("dest", EntityOptions::default()).unwrap();
    ns.send("dest", &NewMessage::new("direct")).await.unwrap();
    ns.create_queue("src", forwarding_to("dest")).unwrap();
    ns.send("src", &NewMessage::new("first")).await.unwrap();
    ns.send("src", &NewMessage::new("second")).await.unwrap();
    assert!(take(&ns, "src").is_none(), "nothing stays in the source");
    let bodies: Vec<_> = std::iter::from_fn(|| take(&ns, "dest"))
        .map(|m| (m.sequence_number, m.body))
        .collect();
    assert_eq!(
        bodies,
        [
            (1, "direct".into()),
            (2, "first".into()),
            (3, "second".into())
        ]
    );
    let src = ns.receiver("src").unwrap();
    assert_eq!(src.transfer_counts().unwrap().transfer, 0);
}

#[tokio::test]
async fn subscriptions_forward_to_queues_and_topics() {
    let ns = Namespace::in_memory();
    ns.create_queue("audit", EntityOptions::default()).unwrap();
    ns.create_topic("second").unwrap();
    ns.create_subscription("second", "all", EntityOptions::default())
        .unwrap();
    ns.create_topic("events").unwrap();
    ns.create_subscription("events", "to-queue", forwarding_to("audit"))
        .unwrap();
    ns.create_subscription("events", "to-topic", forwarding_to("second"))
        .unwrap();
    ns.create_subscription("events", "kept", EntityOptions::default())
        .unwrap();
    ns.send("events", &NewMessage::new("e")).await.unwrap();
    for path in [
        "audit",
        "second/Subscriptions/all",
        "events/Subscriptions/kept",
    ] {
        assert_eq!(take(&ns, path).unwrap().body, "e", "{path}");
    }
    assert!(take(&ns, "events/Subscriptions/to-queue").is_none());
}

#[tokio::test]
async fn a_scheduled_message_waits_in_the_source_and_can_be_cancelled_there() {
    let ns = Namespace::in_memory();
    ns.create_queue("dest", EntityOptions::default()).unwrap();
    ns.create_queue("src", forwarding_to("dest")).unwrap();
    let sender = ns.sender("src").unwrap();
    let later = SystemTime::now() + Duration::from_secs(3600);
    let seq = sender
        .send(&NewMessage::new("later").with_scheduled_enqueue_time(later))
        .await
        .unwrap();
    assert_eq!(ns.receiver("src").unwrap().counts().unwrap().scheduled, 1);
    sender
        .cancel_scheduled(&[seq])
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(ns.receiver("src").unwrap().counts().unwrap().scheduled, 0);
}

#[tokio::test(start_paused = true)]
async fn a_scheduled_message_moves_on_at_its_time() {
    let ns = Namespace::in_memory();
    ns.create_queue("dest", EntityOptions::default()).unwrap();
    ns.create_queue("src", forwarding_to("dest")).unwrap();
    let soon = SystemTime::now() + Duration::from_secs(30);
    ns.send(
        "src",
        &NewMessage::new("s").with_scheduled_enqueue_time(soon),
    )
    .await
    .unwrap();
    let dest = ns.receiver("dest").unwrap();
    let received = tokio::time::timeout(
        Duration::from_secs(120),
        dest.receive(ReceiveMode::ReceiveAndDelete),
    )
    .await
    .expect("the scheduled message was not forwarded at its time")
    .unwrap();
    assert_eq!(received.body, "s");
    assert_eq!(ns.receiver("src").unwrap().counts().unwrap().scheduled, 0);
}

#[tokio::test]
async fn dead_letters_move_on_with_their_reason_and_source() {
    let ns = Namespace::in_memory();
    ns.create_queue("graveyard", EntityOptions::default())
        .unwrap();
    ns.create_queue("work", dead_letters_to("graveyard"))
        .unwrap();
    ns.send("work", &NewMessage::new("bad")).await.unwrap();
    dead_letter_one(&ns, "work", "Invalid", Some("no customer")).await;
    assert!(take(&ns, "work/$DeadLetterQueue").is_none());
    let moved = take(&ns, "graveyard").expect("forwarded dead letter");
    let info = moved.dead_letter.as_deref().unwrap();
    assert_eq!(info.reason.as_deref(), Some("Invalid"));
    assert_eq!(info.description.as_deref(), Some("no customer"));
    assert_eq!(info.source.as_deref(), Some("work"));
}

#[tokio::test]
async fn a_chain_longer_than_four_hops_ends_in_a_transfer_dead_letter_queue() {
    let ns = Namespace::in_memory();
    ns.create_queue("q5", EntityOptions::default()).unwrap();
    for (name, next) in [
        ("q4", "q5"),
        ("q3", "q4"),
        ("q2", "q3"),
        ("q1", "q2"),
        ("q0", "q1"),
    ] {
        ns.create_queue(name, forwarding_to(next)).unwrap();
    }
    // q1 → q5: four hops.
    ns.send("q1", &NewMessage::new("fits")).await.unwrap();
    assert_eq!(take(&ns, "q5").unwrap().body, "fits");
    // q0 → q5 would be five: q4 keeps it.
    ns.send("q0", &NewMessage::new("too far")).await.unwrap();
    assert!(take(&ns, "q5").is_none());
    let q4 = ns.receiver("q4").unwrap();
    assert_eq!(q4.transfer_counts().unwrap().transfer_dead_lettered, 1);
    let m = take(&ns, "q4/$Transfer/$DeadLetterQueue").unwrap();
    assert_eq!(reason(&m), Some(MAX_TRANSFER_HOP_COUNT_EXCEEDED));
    assert_eq!(m.body, "too far");
}

#[tokio::test]
async fn a_loop_stops_at_the_hop_limit() {
    let ns = Namespace::in_memory();
    ns.create_queue("b", EntityOptions::default()).unwrap();
    ns.create_queue("a", forwarding_to("b")).unwrap();
    // b cannot forward to a queue created after it through the API, so build the loop with a
    // topic whose subscription forwards back.
    ns.create_topic("t").unwrap();
    ns.create_subscription("t", "back", forwarding_to("a"))
        .unwrap();
    ns.create_queue("entry", forwarding_to("t")).unwrap();
    ns.delete("b").unwrap();
    ns.create_queue("b", forwarding_to("t")).unwrap();
    // entry → t/back → a → b → t/back (four hops) → a would be the fifth.
    ns.send("entry", &NewMessage::new("round")).await.unwrap();
    let sub = ns.receiver("t/Subscriptions/back").unwrap();
    let m = sub
        .transfer_dead_letter_queue()
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .expect("the loop ends in t/back's transfer dead-letter queue");
    assert_eq!(reason(&m), Some(MAX_TRANSFER_HOP_COUNT_EXCEEDED));
}

#[tokio::test]
async fn a_gone_or_disabled_destination_sends_messages_to_the_transfer_dead_letter_queue() {
    let ns = Namespace::in_memory();
    ns.create_queue("dest", EntityOptions::default()).unwrap();
    ns.create_queue("src", forwarding_to("dest")).unwrap();
    ns.set_status("dest", EntityStatus::SendDisabled).unwrap();
    ns.send("src", &NewMessage::new("disabled")).await.unwrap();
    ns.delete("dest").unwrap();
    ns.send("src", &NewMessage::new("gone")).await.unwrap();
    let tdlq = ns.receiver("src/$transfer/$deadletterqueue").unwrap();
    let first = tdlq
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(reason(&first), Some("MessagingEntityDisabledException"));
    let second = tdlq
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(reason(&second), Some("MessagingEntityNotFoundException"));
    assert!(second.sequence_number > first.sequence_number);
    assert!(matches!(
        ns.sender("src/$Transfer/$DeadLetterQueue"),
        Err(EntityError::NotAllowed(_))
    ));
}

#[tokio::test]
async fn a_full_or_session_destination_refusing_the_message_is_a_transfer_dead_letter() {
    let ns = Namespace::in_memory();
    ns.create_queue(
        "sessions",
        EntityOptions {
            requires_session: true,
            ..EntityOptions::default()
        },
    )
    .unwrap();
    ns.create_queue(
        "tiny",
        EntityOptions {
            max_size_bytes: 4,
            ..EntityOptions::default()
        },
    )
    .unwrap();
    ns.create_queue("to-sessions", forwarding_to("sessions"))
        .unwrap();
    ns.create_queue("to-tiny", forwarding_to("tiny")).unwrap();
    ns.send("to-sessions", &NewMessage::new("no session"))
        .await
        .unwrap();
    ns.send("to-sessions", &NewMessage::new("with").with_session_id("s"))
        .await
        .unwrap();
    ns.send("to-tiny", &NewMessage::new("too big"))
        .await
        .unwrap();
    let m = take(&ns, "to-sessions/$Transfer/$DeadLetterQueue").unwrap();
    assert_eq!(reason(&m), Some("Session ID is null."));
    assert_eq!(ns.receiver("sessions").unwrap().counts().unwrap().active, 1);
    let m = take(&ns, "to-tiny/$Transfer/$DeadLetterQueue").unwrap();
    assert_eq!(reason(&m), Some("QuotaExceededException"));
}

#[test]
fn the_destination_must_exist_and_not_be_the_entity_itself() {
    let ns = Namespace::in_memory();
    let err = ns.create_queue("a", forwarding_to("missing")).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
    let err = ns.create_queue("a", forwarding_to("A")).unwrap_err();
    assert!(err.to_string().contains("itself"), "{err}");
    ns.create_topic("t").unwrap();
    let err = ns
        .create_subscription("t", "s", forwarding_to("t/Subscriptions/x"))
        .unwrap_err();
    assert!(matches!(err, EntityError::InvalidArgument(_)), "{err}");
}

#[tokio::test]
async fn transfer_dead_letters_and_forwarded_dead_letters_survive_a_restart() {
    let dir = temp_dir("restart");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("graveyard", EntityOptions::default())
            .unwrap();
        ns.create_queue("dest", EntityOptions::default()).unwrap();
        ns.create_queue(
            "src",
            EntityOptions {
                forward_to: Some("dest".into()),
                ..dead_letters_to("graveyard")
            },
        )
        .unwrap();
        ns.create_queue("work", dead_letters_to("graveyard"))
            .unwrap();
        ns.delete("dest").unwrap();
        ns.send("src", &NewMessage::new("stuck")).await.unwrap();
        ns.send("work", &NewMessage::new("bad")).await.unwrap();
        dead_letter_one(&ns, "work", "R", None).await;
        ns.flush().await.unwrap();
    }
    for round in ["after a restart", "after a compaction"] {
        let ns = Namespace::open(&dir).await.unwrap();
        let tdlq = ns.receiver("src/$Transfer/$DeadLetterQueue").unwrap();
        let stuck = tdlq.peek(0, 10, None).unwrap();
        assert_eq!(stuck.len(), 1, "{round}");
        assert_eq!(reason(&stuck[0]), Some("MessagingEntityNotFoundException"));
        assert_eq!(tdlq.transfer_counts().unwrap().transfer_dead_lettered, 1);
        let moved = ns.receiver("graveyard").unwrap().peek(0, 10, None).unwrap();
        assert_eq!(moved.len(), 1, "{round}: {moved:?}");
        let info = moved[0].dead_letter.as_deref().unwrap();
        assert_eq!(
            (info.reason.as_deref(), info.source.as_deref()),
            (Some("R"), Some("work"))
        );
        assert!(ns
            .receiver("work/$DeadLetterQueue")
            .unwrap()
            .peek(0, 10, None)
            .unwrap()
            .is_empty());
        ns.compact().await.unwrap();
        ns.flush().await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
