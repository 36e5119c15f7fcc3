//! Session entities: order, fair accept-next, locks, release and expiry, state, listing.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Duration;

use berth_emulator::entity::{
    Disposition, EntityError, EntityHandle, EntityOptions, Namespace, NewMessage, ReceiveMode,
    MAX_SESSION_STATE_BYTES,
};
use bytes::Bytes;

fn session_queue(lock_secs: u64) -> (Namespace, EntityHandle) {
    let ns = Namespace::in_memory();
    let options = EntityOptions {
        requires_session: true,
        lock_duration: Duration::from_secs(lock_secs),
        max_delivery_count: 3,
        ..EntityOptions::default()
    };
    ns.create_queue("jobs", options).unwrap();
    let q = ns.receiver("jobs").unwrap();
    (ns, q)
}

async fn send(ns: &Namespace, session: &str, body: &str) -> i64 {
    ns.send(
        "jobs",
        &NewMessage::new(body.to_owned()).with_session_id(session),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_session_hands_out_its_messages_in_order_many_at_once() {
    let (ns, q) = session_queue(60);
    for i in 0..3 {
        send(&ns, "a", &format!("a{i}")).await;
        send(&ns, "b", &format!("b{i}")).await;
    }
    let a = q.accept_session("a").unwrap();
    let mut got = Vec::new();
    assert_eq!(
        a.try_receive_many(ReceiveMode::PeekLock, 10, &mut got, None)
            .unwrap(),
        3
    );
    let bodies: Vec<&[u8]> = got.iter().map(|m| m.body.as_ref()).collect();
    assert_eq!(bodies, vec![&b"a0"[..], b"a1", b"a2"]);
    assert!(got.iter().all(|m| m.session_id.as_deref() == Some("a")));
    assert!(got
        .iter()
        .all(|m| m.locked_until == Some(a.locked_until().unwrap())));
    for m in &got {
        a.settle(&m.lock_token.unwrap(), Disposition::Complete)
            .unwrap();
    }
    assert!(a
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn accept_next_rotates_oldest_waiting_first() {
    let (ns, q) = session_queue(60);
    for s in ["a", "b", "c"] {
        send(&ns, s, "1").await;
        send(&ns, s, "2").await;
    }
    let mut order = Vec::new();
    for _ in 0..4 {
        let lock = q.try_accept_next_session(None).unwrap().unwrap();
        order.push(lock.session_id().to_owned());
        let m = lock
            .try_receive(ReceiveMode::PeekLock, None)
            .unwrap()
            .unwrap();
        lock.settle(&m.lock_token.unwrap(), Disposition::Complete)
            .unwrap();
        lock.release().unwrap();
    }
    assert_eq!(order, vec!["a", "b", "c", "a"]);
}

#[tokio::test]
async fn a_locked_session_cannot_be_accepted_again() {
    let (ns, q) = session_queue(60);
    send(&ns, "a", "x").await;
    let held = q.accept_session("a").unwrap();
    let err = q.accept_session("a").unwrap_err();
    assert_eq!(
        err.to_string(),
        "The requested session 'a' cannot be accepted. It may be locked by another receiver."
    );
    assert_eq!(err.condition(), "com.microsoft:session-cannot-be-locked");
    assert!(
        q.try_accept_next_session(None).unwrap().is_none(),
        "no other session is available"
    );
    drop(held);
    assert_eq!(q.accept_session("a").unwrap().session_id(), "a");
}

#[tokio::test]
async fn an_empty_session_can_be_accepted_and_then_receives() {
    let (ns, q) = session_queue(60);
    let lock = q.accept_session("later").unwrap();
    assert!(lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let waiting = tokio::spawn(async move {
        let m = lock.receive(ReceiveMode::ReceiveAndDelete).await;
        (m, lock)
    });
    tokio::task::yield_now().await;
    send(&ns, "later", "hello").await;
    let (m, _lock) = waiting.await.unwrap();
    assert_eq!(m.unwrap().body, Bytes::from("hello"));
}

#[tokio::test]
async fn accept_next_waits_until_a_session_has_messages() {
    let (ns, q) = session_queue(60);
    assert!(q.try_accept_next_session(None).unwrap().is_none());
    let waiting = tokio::spawn(async move {
        q.accept_next_session()
            .await
            .map(|l| l.session_id().to_owned())
    });
    tokio::task::yield_now().await;
    send(&ns, "s1", "x").await;
    assert_eq!(waiting.await.unwrap().unwrap(), "s1");
}

#[tokio::test]
async fn releasing_a_session_returns_its_messages_without_counting() {
    let (ns, q) = session_queue(60);
    send(&ns, "a", "1").await;
    send(&ns, "a", "2").await;
    let lock = q.accept_session("a").unwrap();
    let m1 = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    let _m2 = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    lock.release().unwrap();
    assert_eq!(
        q.settle(&m1.lock_token.unwrap(), Disposition::Complete)
            .unwrap_err(),
        EntityError::SessionLockLost
    );
    let lock = q.try_accept_next_session(None).unwrap().unwrap();
    let again = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.sequence_number, again.delivery_count),
        (m1.sequence_number, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn an_expired_session_lock_counts_the_attempt_and_is_lost_for_its_holder() {
    let (ns, q) = session_queue(30);
    send(&ns, "a", "1").await;
    let lock = q.accept_session("a").unwrap();
    let m = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;
    assert_eq!(lock.renew().unwrap_err(), EntityError::SessionLockLost);
    assert_eq!(
        lock.try_receive(ReceiveMode::PeekLock, None).unwrap_err(),
        EntityError::SessionLockLost
    );
    assert_eq!(
        lock.settle(&m.lock_token.unwrap(), Disposition::Complete)
            .unwrap_err(),
        EntityError::SessionLockLost
    );
    assert_eq!(q.renew_session_lock("a").unwrap_err().status_code(), 410);
    let other = q.try_accept_next_session(None).unwrap().unwrap();
    let again = other
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    assert_eq!(
        (again.sequence_number, again.delivery_count),
        (m.sequence_number, 1)
    );
    drop(lock); // releasing a lost lock must not disturb the new holder
    assert!(other.is_held());
}

#[tokio::test(start_paused = true)]
async fn a_holder_waiting_for_messages_hears_that_its_lock_expired() {
    let (_ns, q) = session_queue(10);
    let lock = q.accept_session("idle").unwrap();
    let err = lock.receive(ReceiveMode::PeekLock).await.unwrap_err();
    assert_eq!(err, EntityError::SessionLockLost);
}

#[tokio::test(start_paused = true)]
async fn renewing_a_session_lock_keeps_it() {
    let (ns, q) = session_queue(30);
    send(&ns, "a", "1").await;
    let lock = q.accept_session("a").unwrap();
    tokio::time::advance(Duration::from_secs(20)).await;
    let until = lock.renew().unwrap();
    assert!(until > lock.locked_until_at_accept());
    tokio::time::advance(Duration::from_secs(20)).await;
    assert_eq!(
        q.renew_session_lock("a").unwrap(),
        lock.locked_until().unwrap()
    );
    assert!(lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn session_state_is_kept_without_messages_and_limited_in_size() {
    let (ns, q) = session_queue(60);
    send(&ns, "a", "1").await;
    let lock = q.accept_session("a").unwrap();
    assert_eq!(lock.state().unwrap(), None);
    lock.set_state(Some(Bytes::from("step-2"))).unwrap();
    let m = lock
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(m.body, Bytes::from("1"));
    let too_big = Bytes::from(vec![0u8; MAX_SESSION_STATE_BYTES + 1]);
    assert!(matches!(
        lock.set_state(Some(too_big)),
        Err(EntityError::ArgumentOutOfRange(_))
    ));
    lock.release().unwrap();
    assert_eq!(
        q.list_sessions(None, 0, 10).unwrap(),
        vec!["a"],
        "state keeps the session listed"
    );
    assert_eq!(
        q.session_state("a").unwrap_err(),
        EntityError::SessionLockLost
    );
    let lock = q.accept_session("a").unwrap();
    assert_eq!(q.session_state("a").unwrap(), Some(Bytes::from("step-2")));
    lock.set_state(None).unwrap();
    lock.release().unwrap();
    assert!(q.list_sessions(None, 0, 10).unwrap().is_empty());
    assert_eq!(q.counts().unwrap().sessions, 0);
}

#[tokio::test]
async fn list_sessions_pages_sorted_ids() {
    let (ns, q) = session_queue(60);
    for s in ["c", "a", "d", "b"] {
        send(&ns, s, "x").await;
    }
    assert_eq!(q.list_sessions(None, 0, 2).unwrap(), vec!["a", "b"]);
    assert_eq!(q.list_sessions(None, 2, 2).unwrap(), vec!["c", "d"]);
    assert!(q.list_sessions(None, 4, 2).unwrap().is_empty());
}

#[tokio::test]
async fn deferred_session_messages_come_back_by_number_within_the_session() {
    let (ns, q) = session_queue(60);
    let seq = send(&ns, "a", "1").await;
    send(&ns, "b", "1").await;
    let lock = q.accept_session("a").unwrap();
    let m = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    lock.settle(&m.lock_token.unwrap(), Disposition::Defer { body: None })
        .unwrap();
    assert!(lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let b = q.accept_session("b").unwrap();
    assert!(matches!(
        b.receive_deferred(&[seq], ReceiveMode::PeekLock),
        Err(EntityError::MessageNotFound { .. })
    ));
    let got = lock
        .receive_deferred(&[seq], ReceiveMode::PeekLock)
        .unwrap();
    // The management path settles by token on the entity.
    q.settle(&got[0].lock_token.unwrap(), Disposition::Complete)
        .unwrap();
    assert_eq!(q.peek(0, 10, Some("a")).unwrap().len(), 0);
}

#[tokio::test]
async fn abandoning_in_a_session_dead_letters_at_the_limit() {
    let (ns, q) = session_queue(60);
    send(&ns, "a", "1").await;
    let lock = q.accept_session("a").unwrap();
    for _ in 0..3 {
        let m = lock
            .try_receive(ReceiveMode::PeekLock, None)
            .unwrap()
            .unwrap();
        lock.settle(&m.lock_token.unwrap(), Disposition::Abandon { body: None })
            .unwrap();
    }
    assert!(lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .is_none());
    let dlq = q.dead_letter_queue();
    assert!(!dlq.requires_session());
    let d = dlq
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(d.session_id.as_deref(), Some("a"));
    assert_eq!(d.delivery_count, 3);
}
