//! Session state and session locks end to end: the state (typed `SessionState<T>` and raw
//! through `SessionContext`) survives from one acceptance of a session to the next; lock
//! renewal keeps a handler that runs three lock durations alive; a lost lock cancels the
//! running handler's `CancellationToken` and the message comes back.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use berth::host::BoxedHandler;
use berth::{
    CancellationToken, DeliveryCount, ErrorKind, HandlerError, Message, SessionContext, SessionId,
    SessionState,
};
use berth_host::runtime::session_pump::SessionEnd;
use berth_host::runtime::TriggerSettings;

use crate::e2e_support;
use crate::servicebus_support;
use e2e_support::*;
use servicebus_support::{client, counts, msg, start};

/// The typed state: every `n` handled so far.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Progress {
    seen: Vec<u32>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_state_survives_from_one_acceptance_to_the_next() {
    let entities = session_queue("typed", "30s", 10) + &session_queue("raw", "30s", 10);
    let broker = start(&entities).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..5).map(|n| msg("t", n)).collect();
    client.sender("typed").send_batch(&batch).await.unwrap();
    let batch: Vec<Message> = (0..5).map(|n| msg("r", n)).collect();
    client.sender("raw").send_batch(&batch).await.unwrap();

    let journal = Journal::new();
    let typed = {
        let journal = journal.clone();
        BoxedHandler::new(
            move |SessionId(s): SessionId, m: Message, mut state: SessionState<Progress>| {
                let journal = journal.clone();
                async move {
                    let n = n_of(&m);
                    let _running = journal.begin(&s, n, m.delivery_count);
                    if state.seen != (0..n).collect::<Vec<_>>() {
                        journal.fail(format!("typed state at {n}: {:?}", state.seen));
                    }
                    state.seen.push(n);
                }
            },
        )
    };
    let raw = {
        let journal = journal.clone();
        BoxedHandler::new(move |m: Message, session: SessionContext| {
            let journal = journal.clone();
            async move {
                let n = n_of(&m);
                let _running = journal.begin(session.session_id(), n, m.delivery_count);
                let state = session.get_state().await?;
                let expected = n.checked_sub(1).map(|p| p.to_string().into_bytes());
                if state.as_deref() != expected.as_deref() {
                    journal.fail(format!("raw state at {n}: {state:?}"));
                }
                session.set_state(n.to_string()).await?;
                Ok::<(), HandlerError>(())
            }
        })
    };
    // Each acceptance takes one message, so every message comes with a new acceptance.
    let settings = TriggerSettings {
        release_after_each_message: true,
        ..TriggerSettings::default()
    };
    let typed = Trigger::start(&client, spec("typed", settings.clone(), typed));
    let raw = Trigger::start(&client, spec("raw", settings, raw));
    journal
        .wait_for("5 + 5 invocations", Duration::from_secs(120), |r| {
            r.total >= 10
        })
        .await;
    for (trigger, session) in [(typed, "t"), (raw, "r")] {
        let summaries = trigger.stop().await;
        let acceptances: Vec<_> = summaries
            .iter()
            .filter(|s| s.session_id == session && s.invocations == 1)
            .collect();
        assert_eq!(acceptances.len(), 5, "{summaries:?}");
        assert!(acceptances.iter().all(|s| s.end == SessionEnd::Rotated));
    }
    let record = journal.snapshot();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    assert_eq!(record.total, 10);

    let state = |queue: &str, session: &str| {
        broker
            .namespace()
            .receiver(queue)
            .unwrap()
            .accept_session(session)
            .unwrap()
            .state()
            .unwrap()
            .unwrap()
    };
    let typed: serde_json::Value = serde_json::from_slice(&state("typed", "t")).unwrap();
    assert_eq!(typed, serde_json::json!({"seen": [0, 1, 2, 3, 4]}));
    assert_eq!(&state("raw", "r")[..], b"4");
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_renewal_keeps_a_handler_running_three_lock_durations_alive() {
    let broker = start(&session_queue("slow", "2s", 10)).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..2).map(|n| msg("s", n)).collect();
    client.sender("slow").send_batch(&batch).await.unwrap();

    let journal = Journal::new();
    let handler = {
        let journal = journal.clone();
        BoxedHandler::new(
            move |m: Message, session: SessionContext, cancelled: CancellationToken| {
                let journal = journal.clone();
                async move {
                    let n = n_of(&m);
                    let _running = journal.begin(session.session_id(), n, m.delivery_count);
                    if n > 0 {
                        return;
                    }
                    let before = session.locked_until();
                    // The work: three lock durations.
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(6)) => {}
                        _ = cancelled.cancelled() => journal.fail("the token was cancelled".into()),
                    }
                    let after = session.locked_until();
                    if !(before.is_some() && after > before) {
                        journal.fail(format!("the lock was not renewed: {before:?} → {after:?}"));
                    }
                }
            },
        )
    };
    let trigger = Trigger::start(&client, spec("slow", TriggerSettings::default(), handler));
    journal
        .wait_for("both messages", Duration::from_secs(60), |r| r.total >= 2)
        .await;
    let summaries = trigger.stop().await;

    let record = journal.snapshot();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    assert_eq!(
        record.by_session["s"],
        vec![
            Seen {
                n: 0,
                delivery_count: 1
            },
            Seen {
                n: 1,
                delivery_count: 1
            }
        ],
        "the slow message was not redelivered"
    );
    assert_eq!(
        summaries.len(),
        1,
        "one acceptance held throughout: {summaries:?}"
    );
    assert_eq!(summaries[0].invocations, 2);
    assert_ne!(summaries[0].end, SessionEnd::LockLost);
    let c = counts(&broker, "slow");
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    client.close().await;
    broker.shutdown().await;
}

/// A handler for the lost-lock tests: the first delivery of message 0 waits for its token
/// (at most `limit`) after doing `before_waiting`; anything else returns at once.
fn wait_for_cancellation<F, Fut>(
    journal: Arc<Journal>,
    limit: Duration,
    before_waiting: F,
) -> BoxedHandler
where
    F: Fn(SessionContext) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    BoxedHandler::new(
        move |SessionId(s): SessionId,
              DeliveryCount(dc): DeliveryCount,
              m: Message,
              session: SessionContext,
              cancelled: CancellationToken| {
            let (journal, before_waiting) = (journal.clone(), before_waiting.clone());
            async move {
                let _running = journal.begin(&s, n_of(&m), dc);
                if dc > 1 {
                    return;
                }
                before_waiting(session).await;
                if tokio::time::timeout(limit, cancelled.cancelled())
                    .await
                    .is_err()
                {
                    journal.fail(format!("the token was not cancelled within {limit:?}"));
                }
            }
        },
    )
}

/// Runs `handler` on a 2 s-lock queue with one message under `settings` and checks that the
/// lock was lost, the token fired, and the message came back (delivery count 2) and was
/// completed; with `exclusive`, also that the handler had stopped before the message came
/// back (no two invocations of the session at once).
async fn lost_lock_comes_back(
    settings: TriggerSettings,
    journal: Arc<Journal>,
    handler: BoxedHandler,
    exclusive: bool,
) {
    let broker = start(&session_queue("locks", "2s", 10)).await;
    let client = client(&broker).await;
    client.sender("locks").send(&msg("s", 0)).await.unwrap();
    let trigger = Trigger::start(&client, spec("locks", settings, handler));
    journal
        .wait_for("the redelivery", Duration::from_secs(90), |r| r.total >= 2)
        .await;
    let summaries = trigger.stop().await;
    let record = journal.snapshot();
    assert!(record.failures.is_empty(), "{:?}", record.failures);
    assert_eq!(
        record.by_session["s"],
        vec![
            Seen {
                n: 0,
                delivery_count: 1
            },
            Seen {
                n: 0,
                delivery_count: 2
            }
        ]
    );
    if exclusive {
        assert!(
            record.overlaps.is_empty(),
            "the session was handed out again while the handler that lost its lock still ran"
        );
    }
    assert!(
        summaries.iter().any(|s| s.end == SessionEnd::LockLost),
        "the pump must notice the lost lock: {summaries:?}"
    );
    let c = counts(&broker, "locks");
    assert_eq!((c.active, c.locked, c.dead_lettered), (0, 0, 0));
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_lost_after_renewal_stops_cancels_the_handler() {
    // Renewal stops after 3 s; the handler would run for 30 s; the broker's 2 s lock runs
    // out in between.
    let journal = Journal::new();
    let handler = wait_for_cancellation(journal.clone(), Duration::from_secs(30), |_| async {});
    let settings = TriggerSettings {
        max_auto_lock_renewal_duration: Duration::from_secs(3),
        ..TriggerSettings::default()
    };
    lost_lock_comes_back(settings, journal, handler, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_found_lost_by_the_handler_cancels_its_token() {
    // No renewal at all; once the lock has run out, the handler asks for a renewal itself.
    let journal = Journal::new();
    let asking = journal.clone();
    let handler = wait_for_cancellation(journal.clone(), Duration::from_secs(10), move |session| {
        let journal = asking.clone();
        async move {
            let until = session.locked_until().unwrap_or_else(SystemTime::now);
            let left = until.duration_since(SystemTime::now()).unwrap_or_default();
            // Waiting for the broker's clock: the lock's own expiry is the event.
            tokio::time::sleep(left + Duration::from_millis(500)).await;
            match session.renew_lock().await {
                Err(e) if e.kind == ErrorKind::SessionLockLost => {}
                other => journal.fail(format!("renewing an expired lock gave {other:?}")),
            }
        }
    });
    let settings = TriggerSettings {
        max_auto_lock_renewal_duration: Duration::ZERO,
        ..TriggerSettings::default()
    };
    // The handler itself runs past its lock here, so the session may be handed out again
    // before it finds out: no exclusivity to check.
    lost_lock_comes_back(settings, journal, handler, false).await;
}
