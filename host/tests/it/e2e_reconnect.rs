//! The broker goes away in the middle of a run: a durable broker is shut down while the
//! session trigger is busy and started again at once on the same address and data directory.
//! The trigger reconnects on its own and finishes every message: nothing is lost, each
//! session's messages stay in order, and a session goes back at most once, to re-run what the
//! restart undid (its in-flight message, and completions the old broker had not made durable).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{DeliveryCount, HandlerError, Message, SessionId};
use berth_host::runtime::TriggerSettings;

use crate::e2e_support;
use crate::servicebus_support;
use e2e_support::*;
use servicebus_support::{client, counts, msg, start_at, temp_dir};

const SESSIONS: u32 = 20;
const PER_SESSION: u32 = 30;
const QUEUE: &str = "orders";

/// Whether `seen` covers 0..PER_SESSION in order, at least once each: it may go back once
/// (after the restart), never skips.
fn in_order_at_least_once(seen: &[Seen]) -> bool {
    let ns: Vec<u32> = seen.iter().map(|s| s.n).collect();
    let backs = ns.windows(2).filter(|w| w[1] <= w[0]).count();
    let skips = ns.windows(2).any(|w| w[1] > w[0] + 1);
    ns.first() == Some(&0) && ns.last() == Some(&(PER_SESSION - 1)) && backs <= 1 && !skips
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trigger_finishes_every_message_across_a_broker_restart() {
    let dir = temp_dir("e2e-restart");
    let entities = session_queue(QUEUE, "30s", 10);
    let broker = start_at("127.0.0.1:0", &entities, Some(&dir)).await;
    let address = broker.local_addr().to_string();
    let client = client(&broker).await;
    let sender = client.sender(QUEUE);
    for n in 0..PER_SESSION {
        let round: Vec<Message> = (0..SESSIONS).map(|s| msg(&format!("s{s}"), n)).collect();
        sender.send_batch(&round).await.unwrap();
    }

    let journal = Journal::new();
    let handler = {
        let journal = journal.clone();
        BoxedHandler::new(
            move |SessionId(s): SessionId, DeliveryCount(dc): DeliveryCount, m: Message| {
                let journal = journal.clone();
                async move {
                    let _running = journal.begin(&s, n_of(&m), dc);
                    tokio::task::yield_now().await;
                    Ok::<(), HandlerError>(())
                }
            },
        )
    };
    let trigger = Trigger::start(&client, spec(QUEUE, TriggerSettings::default(), handler));
    let total = (SESSIONS * PER_SESSION) as usize;
    journal
        .wait_for("a third of the messages", Duration::from_secs(120), |r| {
            r.total >= total / 3
        })
        .await;

    broker.shutdown().await;
    let handled_before = journal.snapshot().total;
    let broker = start_at(&address, &entities, Some(&dir)).await;

    let all_seen = journal
        .try_wait_for(Duration::from_secs(180), |r| {
            r.by_session.len() == SESSIONS as usize
                && r.by_session.values().all(|seen| {
                    let ns: BTreeSet<u32> = seen.iter().map(|s| s.n).collect();
                    ns.len() == PER_SESSION as usize
                })
        })
        .await;
    assert!(
        all_seen,
        "not every message was handled within 180 s: {}",
        describe(&journal)
    );
    // Messages whose completion the old broker lost come back; the run ends when the broker
    // has nothing left.
    wait_for_counts(
        &broker,
        QUEUE,
        "the queue to empty",
        Duration::from_secs(120),
        |c| (c.active, c.locked) == (0, 0),
    )
    .await;
    trigger.stop().await;

    let record = journal.snapshot();
    assert!(
        handled_before < total,
        "the restart must come in the middle of the run"
    );
    assert!(record.overlaps.is_empty(), "{:?}", record.overlaps);
    for (session, seen) in &record.by_session {
        assert!(
            in_order_at_least_once(seen),
            "session {session}: {:?}",
            seen.iter().map(|s| s.n).collect::<Vec<_>>()
        );
    }
    let c = counts(&broker, QUEUE);
    assert_eq!(
        (c.active, c.locked, c.deferred, c.dead_lettered),
        (0, 0, 0, 0),
        "every message completed"
    );
    client.close().await;
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Each session's `n`s, for a failure message.
fn describe(journal: &Journal) -> String {
    let record = journal.snapshot();
    let mut sessions: Vec<_> = record.by_session.iter().collect();
    sessions.sort_by_key(|(s, _)| s.as_str());
    sessions
        .iter()
        .map(|(s, seen)| format!("{s}: {:?}", seen.iter().map(|x| x.n).collect::<Vec<_>>()))
        .collect::<Vec<_>>()
        .join("\n")
}
