//! Failing handlers end to end: an error or a panic abandons the message, which comes back
//! to the same session next, with its delivery count one higher, before any later message;
//! a message that always fails is dead-lettered by the broker after the entity's
//! `max_delivery_count` (reason `MaxDeliveryCountExceeded`) and the session goes on.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{DeliveryCount, HandlerError, Message, SessionId};
use berth_host::runtime::TriggerSettings;

use crate::e2e_support;
use crate::servicebus_support;
use e2e_support::*;
use servicebus_support::{client, counts, msg, start};

const QUEUE: &str = "orders";

fn seen(pairs: &[(u32, u32)]) -> Vec<Seen> {
    pairs
        .iter()
        .map(|&(n, delivery_count)| Seen { n, delivery_count })
        .collect()
}

/// A handler that journals each invocation and then does what `fate` says for it.
fn handler(journal: Arc<Journal>, fate: fn(&str, u32, u32) -> Fate) -> BoxedHandler {
    BoxedHandler::new(
        move |SessionId(session): SessionId, DeliveryCount(dc): DeliveryCount, m: Message| {
            let journal = journal.clone();
            async move {
                let n = n_of(&m);
                let _running = journal.begin(&session, n, dc);
                match fate(&session, n, dc) {
                    Fate::Succeed => Ok(()),
                    Fate::Fail => Err(HandlerError::msg(format!("{session}-{n} failed"))),
                    Fate::Panic => panic!("{session}-{n} panicked"),
                }
            }
        },
    )
}

enum Fate {
    Succeed,
    Fail,
    Panic,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_message_is_redelivered_next_with_a_higher_delivery_count() {
    let broker = start(&session_queue(QUEUE, "30s", 5)).await;
    let client = client(&broker).await;
    let sessions = ["a", "b", "c"];
    let batch: Vec<Message> = (0..6).flat_map(|n| sessions.map(|s| msg(s, n))).collect();
    client.sender(QUEUE).send_batch(&batch).await.unwrap();

    // Message 2 of every session: an error, then a panic, then success.
    let journal = Journal::new();
    let fate = |_: &str, n: u32, dc: u32| match (n, dc) {
        (2, 1) => Fate::Fail,
        (2, 2) => Fate::Panic,
        _ => Fate::Succeed,
    };
    let trigger = Trigger::start(
        &client,
        spec(
            QUEUE,
            TriggerSettings::default(),
            handler(journal.clone(), fate),
        ),
    );
    journal
        .wait_for(
            "3 sessions × 8 invocations",
            Duration::from_secs(120),
            |r| r.total >= 24,
        )
        .await;
    trigger.stop().await;

    let record = journal.snapshot();
    let expected = seen(&[
        (0, 1),
        (1, 1),
        (2, 1),
        (2, 2),
        (2, 3),
        (3, 1),
        (4, 1),
        (5, 1),
    ]);
    for s in sessions {
        assert_eq!(record.by_session[s], expected, "session {s}");
    }
    assert!(record.overlaps.is_empty());
    assert_eq!(record.total, 24);
    let c = counts(&broker, QUEUE);
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_message_is_dead_lettered_after_max_delivery_count_and_the_session_goes_on() {
    let broker = start(&session_queue(QUEUE, "30s", 3)).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..5)
        .flat_map(|n| [msg("poisoned", n), msg("healthy", n)])
        .collect();
    client.sender(QUEUE).send_batch(&batch).await.unwrap();

    let journal = Journal::new();
    let fate = |session: &str, n: u32, _: u32| match (session, n) {
        ("poisoned", 1) => Fate::Fail,
        _ => Fate::Succeed,
    };
    let trigger = Trigger::start(
        &client,
        spec(
            QUEUE,
            TriggerSettings::default(),
            handler(journal.clone(), fate),
        ),
    );
    journal
        .wait_for("7 + 5 invocations", Duration::from_secs(120), |r| {
            r.total >= 12
        })
        .await;
    trigger.stop().await;

    let record = journal.snapshot();
    assert_eq!(
        record.by_session["poisoned"],
        seen(&[(0, 1), (1, 1), (1, 2), (1, 3), (2, 1), (3, 1), (4, 1)]),
        "three attempts at message 1 (max_delivery_count = 3), then the rest in order"
    );
    assert_eq!(
        record.by_session["healthy"],
        seen(&[(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)])
    );
    assert_eq!(record.total, 12);

    let c = counts(&broker, QUEUE);
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 1));
    let dead = client
        .peek(&format!("{QUEUE}/$DeadLetterQueue"), 0, 10, None)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let m = &dead[0].message;
    assert_eq!(m.message_id.as_deref(), Some("poisoned-1"));
    assert_eq!(m.session_id.as_deref(), Some("poisoned"));
    assert_eq!(
        m.dead_letter_reason.as_deref(),
        Some("MaxDeliveryCountExceeded")
    );
    assert!(m.dead_letter_error_description.is_some());
    client.close().await;
    broker.shutdown().await;
}
