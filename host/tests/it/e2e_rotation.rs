//! Rotation: many sessions with one message each, the shape that stalls a host whose
//! sessions sit idle for a long time after their last message (Azure Functions: 8 sessions ×
//! 60 s → 8 messages a minute). A quiet session parks — gives its slot back while it keeps
//! waiting for more messages until `session_idle_timeout` — and is released as soon as the
//! acceptor has taken a newer one, so the drain is bounded by how fast sessions can be
//! accepted and handled, not by sessions ÷ slots × idle timeout (≈ 21 minutes here). The
//! time is printed (run with `--nocapture`), not asserted; the wait gives up after a bound
//! far below what idle-bound rotation would need.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use berth::host::BoxedHandler;
use berth::{DeliveryCount, HandlerError, Message, SessionId};
use berth_host::runtime::session_pump::SessionEnd;
use berth_host::runtime::TriggerSettings;

use crate::e2e_support;
use crate::servicebus_support;
use e2e_support::*;
use servicebus_support::{client, counts, msg, start};

const QUEUE: &str = "orders";

/// Sends `sessions` sessions of one message, drains them with `settings` and checks that each
/// was handled once and released; returns how long the drain took.
async fn drain(sessions: u32, settings: TriggerSettings) -> Duration {
    let broker = start(&session_queue(QUEUE, "30s", 10)).await;
    let client = client(&broker).await;
    let sender = client.sender(QUEUE);
    let all: Vec<Message> = (0..sessions).map(|s| msg(&format!("s{s}"), 0)).collect();
    for chunk in all.chunks(500) {
        sender.send_batch(chunk).await.unwrap();
    }
    assert_eq!(counts(&broker, QUEUE).active, sessions as usize);

    let journal = Journal::new();
    let handler = {
        let journal = journal.clone();
        BoxedHandler::new(
            move |SessionId(s): SessionId, DeliveryCount(dc): DeliveryCount, m: Message| {
                let journal = journal.clone();
                async move {
                    let _running = journal.begin(&s, n_of(&m), dc);
                    Ok::<(), HandlerError>(())
                }
            },
        )
    };
    let slots = settings.max_concurrent_sessions as usize;
    let idle = settings.session_idle_timeout;
    // Idle-bound rotation would need sessions ÷ slots × idle; a quarter of that, at most
    // five minutes, is far more than parking needs even on a loaded machine.
    let limit =
        (idle * (sessions / settings.max_concurrent_sessions) / 4).min(Duration::from_secs(300));
    let started = Instant::now();
    let trigger = Trigger::start(&client, spec(QUEUE, settings, handler));
    journal
        .wait_for("every session", limit, |r| r.total >= sessions as usize)
        .await;
    let elapsed = started.elapsed();
    let summaries = trigger.stop().await;

    let record = journal.snapshot();
    assert_eq!(record.total, sessions as usize, "each message handled once");
    assert_eq!(record.by_session.len(), sessions as usize);
    assert!(record.max_in_flight <= slots);
    let idle_ends = summaries
        .iter()
        .filter(|s| s.end == SessionEnd::Idle)
        .count();
    assert!(
        summaries
            .iter()
            .all(|s| matches!(s.end, SessionEnd::Idle | SessionEnd::Shutdown)),
        "{summaries:?}"
    );
    // Every session but those still held at shutdown (in a slot or parked) went idle and
    // was released.
    assert!(
        idle_ends >= sessions as usize - (2 * slots + 1),
        "{idle_ends} released idle"
    );
    let c = counts(&broker, QUEUE);
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    eprintln!(
        "{sessions} sessions × 1 message, {slots} at once, session_idle_timeout {idle:?}: drained in {elapsed:.1?} (idle-bound rotation: {:.0?})",
        idle * sessions / slots as u32
    );
    client.close().await;
    broker.shutdown().await;
    elapsed
}

/// 2,000 single-message sessions with the defaults (8 sessions at once, 5 s idle).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_single_message_sessions_drain_with_the_defaults() {
    let settings = TriggerSettings::default();
    assert_eq!(
        (
            settings.max_concurrent_sessions,
            settings.session_idle_timeout
        ),
        (8, Duration::from_secs(5)),
        "the defaults"
    );
    drain(2_000, settings).await;
}
