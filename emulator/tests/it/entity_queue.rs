//! Plain queues: receive modes, settlement, lock expiry, dead-lettering, deferral, peek, quota.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use berth_emulator::entity::{
    Disposition, EntityError, EntityOptions, LockToken, MessageState, Namespace, NewMessage,
    ReceiveMode, MAX_DELIVERY_COUNT_EXCEEDED, SENDER_ON_SUBSCRIPTION,
    SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER, SESSION_ID_MISSING,
};
use bytes::Bytes;

fn ns_with(options: EntityOptions) -> Namespace {
    let ns = Namespace::in_memory();
    ns.create_queue("orders", options).unwrap();
    ns
}

async fn send_n(ns: &Namespace, n: usize) -> Vec<i64> {
    let sender = ns.sender("orders").unwrap();
    let mut seqs = Vec::new();
    for i in 0..n {
        seqs.push(
            sender
                .send(&NewMessage::new(format!("m{i}")))
                .await
                .unwrap(),
        );
    }
    seqs
}

#[tokio::test]
async fn peek_lock_then_complete_removes_the_message() {
    let ns = ns_with(EntityOptions::default());
    assert_eq!(send_n(&ns, 2).await, vec![1, 2]);
    let q = ns.receiver("orders").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(
        (m.sequence_number, m.delivery_count, m.state),
        (1, 0, MessageState::Active)
    );
    assert_eq!(m.body, Bytes::from("m0"));
    assert!(m.locked_until.is_some());
    let c = q.counts().unwrap();
    assert_eq!((c.active, c.locked), (2, 1));
    q.settle(&m.lock_token.unwrap(), Disposition::Complete)
        .unwrap();
    assert_eq!(q.counts().unwrap().active, 1);
    let again = q.settle(&m.lock_token.unwrap(), Disposition::Complete);
    assert_eq!(again.unwrap_err(), EntityError::MessageLockLost);
}

#[tokio::test]
async fn receive_and_delete_takes_messages_in_order() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 3).await;
    let q = ns.receiver("orders").unwrap();
    let mut out = Vec::new();
    assert_eq!(
        q.try_receive_many(ReceiveMode::ReceiveAndDelete, 10, &mut out, None)
            .unwrap(),
        3
    );
    let seqs: Vec<i64> = out.iter().map(|m| m.sequence_number).collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    assert!(out.iter().all(|m| m.lock_token.is_none()));
    assert!(q
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn abandoned_messages_return_to_the_head_in_sequence_order() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 3).await;
    let q = ns.receiver("orders").unwrap();
    let a = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let b = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    q.settle(&b.lock_token.unwrap(), Disposition::Abandon { body: None })
        .unwrap();
    q.settle(
        &a.lock_token.unwrap(),
        Disposition::Abandon {
            body: Some(Bytes::from("changed")),
        },
    )
    .unwrap();
    let first = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let second = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let third = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!((first.sequence_number, first.delivery_count), (1, 1));
    assert_eq!(first.body, Bytes::from("changed"));
    assert_eq!((second.sequence_number, second.delivery_count), (2, 1));
    assert_eq!((third.sequence_number, third.delivery_count), (3, 0));
}

#[tokio::test]
async fn release_does_not_count_a_delivery() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    for _ in 0..3 {
        let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
        assert_eq!(m.delivery_count, 0);
        q.settle(&m.lock_token.unwrap(), Disposition::Release)
            .unwrap();
    }
}

#[tokio::test]
async fn max_delivery_count_dead_letters_with_the_reason() {
    let ns = ns_with(EntityOptions {
        max_delivery_count: 2,
        ..EntityOptions::default()
    });
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    for expected in 0..2 {
        let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
        assert_eq!(m.delivery_count, expected);
        q.settle(&m.lock_token.unwrap(), Disposition::Abandon { body: None })
            .unwrap();
    }
    assert!(q
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let dlq = ns.receiver("orders/$DeadLetterQueue").unwrap();
    assert!(dlq.is_dead_letter_queue());
    let d = dlq
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        d.sequence_number, 1,
        "dead letters keep their sequence number"
    );
    assert_eq!(d.delivery_count, 2);
    let info = d.dead_letter.unwrap();
    assert_eq!(info.reason.as_deref(), Some(MAX_DELIVERY_COUNT_EXCEEDED));
    assert_eq!(
        info.description.as_deref(),
        Some("Message could not be consumed after 2 delivery attempts.")
    );
    assert_eq!(q.counts().unwrap().dead_lettered, 1);
}

#[tokio::test]
async fn explicit_dead_letter_carries_reason_description_and_new_body() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let disposition = Disposition::DeadLetter {
        reason: Some("Bad".into()),
        description: Some("bad input".into()),
        body: Some(Bytes::from("rewritten")),
    };
    q.settle(&m.lock_token.unwrap(), disposition).unwrap();
    let dlq = q.dead_letter_queue();
    let d = dlq
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    assert_eq!(d.body, Bytes::from("rewritten"));
    let info = d.dead_letter.clone().unwrap();
    assert_eq!(
        (info.reason.as_deref(), info.description.as_deref()),
        (Some("Bad"), Some("bad input"))
    );
    let again = dlq.settle(
        &d.lock_token.unwrap(),
        Disposition::DeadLetter {
            reason: None,
            description: None,
            body: None,
        },
    );
    assert!(matches!(again, Err(EntityError::NotAllowed(_))));
    dlq.settle(&d.lock_token.unwrap(), Disposition::Complete)
        .unwrap();
    assert_eq!(q.counts().unwrap().dead_lettered, 0);
}

#[tokio::test]
async fn deferred_messages_are_received_only_by_sequence_number() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 2).await;
    let q = ns.receiver("orders").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    q.settle(&m.lock_token.unwrap(), Disposition::Defer { body: None })
        .unwrap();
    assert_eq!(q.counts().unwrap().deferred, 1);
    let next = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(next.sequence_number, 2);
    assert!(q
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let missing = q.receive_deferred(&[1, 99], ReceiveMode::PeekLock, None);
    assert_eq!(
        missing.unwrap_err(),
        EntityError::MessageNotFound {
            sequence_number: 99
        }
    );
    let got = q
        .receive_deferred(&[1], ReceiveMode::PeekLock, None)
        .unwrap();
    assert_eq!(
        (got[0].sequence_number, got[0].state),
        (1, MessageState::Deferred)
    );
    q.settle(
        &got[0].lock_token.unwrap(),
        Disposition::Abandon { body: None },
    )
    .unwrap();
    assert_eq!(
        q.counts().unwrap().deferred,
        1,
        "abandoning a deferred message keeps it deferred"
    );
    let got = q
        .receive_deferred(&[1], ReceiveMode::ReceiveAndDelete, None)
        .unwrap();
    assert_eq!(got[0].delivery_count, 1);
    assert_eq!(q.counts().unwrap().deferred, 0);
}

#[tokio::test(start_paused = true)]
async fn expired_message_lock_redelivers_with_the_attempt_counted() {
    let ns = ns_with(EntityOptions {
        lock_duration: Duration::from_secs(30),
        ..EntityOptions::default()
    });
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;
    let lost = q.settle(&m.lock_token.unwrap(), Disposition::Complete);
    assert_eq!(lost.unwrap_err(), EntityError::MessageLockLost);
    let again = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!((again.sequence_number, again.delivery_count), (1, 1));
    assert_ne!(again.lock_token, m.lock_token);
}

#[tokio::test(start_paused = true)]
async fn renewing_a_lock_keeps_it() {
    let ns = ns_with(EntityOptions {
        lock_duration: Duration::from_secs(30),
        ..EntityOptions::default()
    });
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    let token = m.lock_token.unwrap();
    tokio::time::advance(Duration::from_secs(20)).await;
    let until = q.renew_lock(&token).unwrap();
    assert!(until > m.locked_until.unwrap());
    tokio::time::advance(Duration::from_secs(20)).await;
    q.settle(&token, Disposition::Complete).unwrap();
    assert_eq!(
        q.renew_lock(&token).unwrap_err(),
        EntityError::MessageLockLost
    );
}

#[tokio::test(start_paused = true)]
async fn a_waiting_receiver_gets_a_message_whose_lock_expired() {
    let ns = ns_with(EntityOptions {
        lock_duration: Duration::from_secs(5),
        ..EntityOptions::default()
    });
    send_n(&ns, 1).await;
    let q = ns.receiver("orders").unwrap();
    let first = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    // The namespace timer wakes this receive when the lock expires.
    let again = q.receive(ReceiveMode::PeekLock).await.unwrap();
    assert_eq!(
        (again.sequence_number, again.delivery_count),
        (first.sequence_number, 1)
    );
}

#[tokio::test]
async fn a_waiting_receiver_is_woken_by_a_send() {
    let ns = ns_with(EntityOptions::default());
    let q = ns.receiver("orders").unwrap();
    let waiting = tokio::spawn(async move { q.receive(ReceiveMode::ReceiveAndDelete).await });
    tokio::task::yield_now().await;
    send_n(&ns, 1).await;
    let m = waiting.await.unwrap().unwrap();
    assert_eq!(m.sequence_number, 1);
}

#[tokio::test]
async fn peek_shows_messages_without_locking_them() {
    let ns = ns_with(EntityOptions::default());
    send_n(&ns, 4).await;
    let q = ns.receiver("orders").unwrap();
    let locked = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    q.settle(&locked.lock_token.unwrap(), Disposition::Complete)
        .unwrap();
    let peeked = q.peek(1, 2, None).unwrap();
    let seqs: Vec<i64> = peeked.iter().map(|m| m.sequence_number).collect();
    assert_eq!(
        seqs,
        vec![2, 3],
        "peeking from a removed number starts at the next one"
    );
    assert!(peeked.iter().all(|m| m.lock_token.is_none()));
    let next = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(next.sequence_number, 2);
}

#[tokio::test]
async fn sends_beyond_max_size_fail_with_a_quota_error() {
    let ns = ns_with(EntityOptions {
        max_size_bytes: 10,
        ..EntityOptions::default()
    });
    let sender = ns.sender("orders").unwrap();
    sender.send(&NewMessage::new(vec![0u8; 8])).await.unwrap();
    let err = sender
        .send(&NewMessage::new(vec![0u8; 8]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            EntityError::QuotaExceeded {
                size: 8,
                max: 10,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.condition(), "amqp:resource-limit-exceeded");
    let batch = [NewMessage::new("a"), NewMessage::new("bbb")];
    assert!(
        sender.send_batch(&batch).await.is_err(),
        "a batch is all or nothing"
    );
    assert_eq!(ns.receiver("orders").unwrap().counts().unwrap().active, 1);
}

#[tokio::test]
async fn session_entities_refuse_plain_receivers_and_messages_without_session() {
    let ns = ns_with(EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    });
    let err = ns.send("orders", &NewMessage::new("x")).await.unwrap_err();
    assert_eq!(err.to_string(), SESSION_ID_MISSING);
    assert_eq!(err.condition(), "amqp:not-allowed");
    let q = ns.receiver("orders").unwrap();
    let err = q.try_receive(ReceiveMode::PeekLock, None).unwrap_err();
    assert_eq!(err.to_string(), SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER);
}

#[tokio::test]
async fn paths_resolve_case_insensitively_and_refuse_wrong_uses() {
    let ns = Namespace::in_memory();
    ns.create_queue("Orders", EntityOptions::default()).unwrap();
    ns.create_topic("events").unwrap();
    ns.create_subscription("events", "audit", EntityOptions::default())
        .unwrap();
    assert_eq!(ns.receiver("orders").unwrap().path(), "Orders");
    assert_eq!(
        ns.receiver("/ORDERS/$deadletterqueue").unwrap().path(),
        "Orders/$DeadLetterQueue"
    );
    let sub = ns
        .receiver("Events/subscriptions/AUDIT/$DeadLetterQueue")
        .unwrap();
    assert_eq!(sub.path(), "events/Subscriptions/audit/$DeadLetterQueue");
    let err = ns.sender("events/Subscriptions/audit").err().unwrap();
    assert_eq!(err.to_string(), SENDER_ON_SUBSCRIPTION);
    assert!(matches!(
        ns.receiver("events"),
        Err(EntityError::NotAllowed(_))
    ));
    let missing = ns.sender("nope").err().unwrap();
    assert_eq!(missing.condition(), "amqp:not-found");
    assert_eq!(
        missing.to_string(),
        "The messaging entity 'nope' could not be found."
    );
    let dup = ns.create_topic("ORDERS").unwrap_err();
    assert_eq!(dup.status_code(), 409);
}

#[test]
fn lock_tokens_convert_to_dotnet_byte_order() {
    let token: LockToken = "aabbccdd-eeff-0011-2233-445566778899".parse().unwrap();
    let tag = token.to_dotnet_bytes();
    assert_eq!(tag[..8], [0xdd, 0xcc, 0xbb, 0xaa, 0xff, 0xee, 0x11, 0x00]);
    assert_eq!(tag[8..], [0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99]);
    assert_eq!(LockToken::from_delivery_tag(&tag), Some(token));
    assert_eq!(token.to_string(), "aabbccdd-eeff-0011-2233-445566778899");
    let random = LockToken::random();
    assert_eq!(random.as_bytes()[6] >> 4, 4, "version 4");
    assert_ne!(random, LockToken::random());
}
