//! Scheduled messages and time to live (timers driven by paused Tokio time).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    EntityOptions, MessageState, Namespace, NewMessage, ReceiveMode, TTL_EXPIRED,
};

fn queue(options: EntityOptions) -> Namespace {
    let ns = Namespace::in_memory();
    ns.create_queue("q", options).unwrap();
    ns
}

#[tokio::test(start_paused = true)]
async fn scheduled_messages_turn_active_at_their_time() {
    let ns = queue(EntityOptions::default());
    let at = SystemTime::now() + Duration::from_secs(60);
    let seq = ns
        .send(
            "q",
            &NewMessage::new("later").with_scheduled_enqueue_time(at),
        )
        .await
        .unwrap();
    let now_seq = ns.send("q", &NewMessage::new("now")).await.unwrap();
    let q = ns.receiver("q").unwrap();
    let peeked = q.peek(0, 10, None).unwrap();
    assert_eq!(peeked[0].state, MessageState::Scheduled);
    assert_eq!(peeked[0].scheduled_enqueue_time, Some(at));
    assert_eq!(q.counts().unwrap().scheduled, 1);
    let first = q
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(first.sequence_number, now_seq);
    assert!(q
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .is_none());
    // Waiting wakes when the namespace timer activates the message.
    let later = q.receive(ReceiveMode::ReceiveAndDelete).await.unwrap();
    assert_eq!(
        (later.sequence_number, later.state),
        (now_seq + 1, MessageState::Active),
        "a new sequence number once active (it was {seq})"
    );
    assert_eq!(later.enqueued_time, at);
}

#[tokio::test(start_paused = true)]
async fn cancelled_scheduled_messages_never_arrive() {
    let ns = queue(EntityOptions::default());
    let sender = ns.sender("q").unwrap();
    let at = SystemTime::now() + Duration::from_secs(60);
    let msgs = [
        NewMessage::new("a").with_scheduled_enqueue_time(at),
        NewMessage::new("b").with_scheduled_enqueue_time(at),
    ];
    let seqs = sender.send_batch(&msgs).await.unwrap();
    sender
        .cancel_scheduled(&seqs[..1])
        .unwrap()
        .wait()
        .await
        .unwrap();
    sender.cancel_scheduled(&[999]).unwrap();
    tokio::time::advance(Duration::from_secs(61)).await;
    let q = ns.receiver("q").unwrap();
    let m = q
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .unwrap();
    assert_eq!(m.body, "b");
    assert_eq!(
        m.sequence_number,
        seqs[1] + 1,
        "renumbered when it turned active"
    );
    assert!(q
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap()
        .is_none());
}

#[tokio::test(start_paused = true)]
async fn expired_messages_are_dropped() {
    let ns = queue(EntityOptions {
        default_message_time_to_live: Duration::from_secs(100),
        ..EntityOptions::default()
    });
    ns.send(
        "q",
        &NewMessage::new("short").with_time_to_live(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let keep = ns.send("q", &NewMessage::new("default")).await.unwrap();
    tokio::time::advance(Duration::from_secs(11)).await;
    let q = ns.receiver("q").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(m.sequence_number, keep);
    assert!(m.expires_at.is_some());
    assert_eq!(q.counts().unwrap().dead_lettered, 0);
}

#[tokio::test(start_paused = true)]
async fn expired_messages_can_be_dead_lettered() {
    let ns = queue(EntityOptions {
        dead_lettering_on_message_expiration: true,
        ..EntityOptions::default()
    });
    let seq = ns
        .send(
            "q",
            &NewMessage::new("x").with_time_to_live(Duration::from_secs(5)),
        )
        .await
        .unwrap();
    let dlq = ns.receiver("q/$DeadLetterQueue").unwrap();
    // The timer moves it when it expires; the waiting receive sees it arrive.
    let d = dlq.receive(ReceiveMode::ReceiveAndDelete).await.unwrap();
    assert_eq!(d.sequence_number, seq);
    assert_eq!(d.dead_letter.unwrap().reason.as_deref(), Some(TTL_EXPIRED));
}

#[tokio::test(start_paused = true)]
async fn a_locked_message_expires_when_its_lock_ends() {
    let ns = queue(EntityOptions {
        lock_duration: Duration::from_secs(30),
        ..EntityOptions::default()
    });
    ns.send(
        "q",
        &NewMessage::new("x").with_time_to_live(Duration::from_secs(10)),
    )
    .await
    .unwrap();
    let q = ns.receiver("q").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    tokio::time::advance(Duration::from_secs(15)).await;
    assert_eq!(
        q.counts().unwrap().locked,
        1,
        "still locked past its expiry"
    );
    q.settle(
        &m.lock_token.unwrap(),
        berth_emulator::entity::Disposition::Abandon { body: None },
    )
    .unwrap();
    assert_eq!(q.counts().unwrap().active, 0);
}
