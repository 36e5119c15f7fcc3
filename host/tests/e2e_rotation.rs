//! Rotation: many sessions with one message each, the shape that stalls a host whose
//! sessions sit idle for a long time after their last message (Azure Functions: 8 sessions ×
//! 60 s). A pump releases its session `session_idle_timeout` (default 5 s) after the end of
//! its last invocation, and the AMQP receive never waits past that, so each of the
//! `max_concurrent_sessions` slots turns over every ~5 s and the drain is bounded by
//! sessions ÷ slots × 5 s. The time is printed (run with `--nocapture`), not asserted.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use berth::{BoxedHandler, DeliveryCount, HandlerError, Message, SessionId};
use berth_host::runtime::session_pump::SessionEnd;
use berth_host::runtime::TriggerSettings;

mod servicebus_support;
use servicebus_support::{client, counts, msg, start};
mod e2e_support;
use e2e_support::*;

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
    // Generous: twice the bound the design gives, plus a minute.
    let limit =
        idle * (2 * sessions / settings.max_concurrent_sessions + 2) + Duration::from_secs(60);
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
    // Every session but those still open at shutdown went idle and was released.
    assert!(
        idle_ends >= sessions as usize - slots,
        "{idle_ends} released idle"
    );
    let c = counts(&broker, QUEUE);
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    eprintln!(
        "{sessions} sessions × 1 message, {slots} at once, session_idle_timeout {idle:?}: drained in {elapsed:.1?} (bound {:.0?})",
        idle * sessions / slots as u32
    );
    client.close().await;
    broker.shutdown().await;
    elapsed
}

/// 2,000 single-message sessions with the defaults (8 sessions at once, 5 s idle): about
/// 2,000 ÷ 8 × 5 s ≈ 21 minutes, so it only runs when asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about 21 minutes (2,000 sessions ÷ 8 slots × 5 s idle); run with --ignored"]
async fn two_thousand_single_message_sessions_drain_with_the_defaults() {
    drain(2_000, TriggerSettings::default()).await;
}

/// The same 2,000 sessions with the default idle timeout and 100 sessions at once (a setting
/// for many short sessions): about 2,000 ÷ 100 × 5 s ≈ 100 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_single_message_sessions_drain_with_the_default_idle_timeout() {
    let settings = TriggerSettings {
        max_concurrent_sessions: 100,
        ..TriggerSettings::default()
    };
    assert_eq!(
        settings.session_idle_timeout,
        Duration::from_secs(5),
        "the default"
    );
    drain(2_000, settings).await;
}
