//! The session pumps end-to-end over AMQP: `runtime::acceptor::run` with the AMQP session
//! source, 50 sessions × 20 messages against the embedded broker.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{CancellationToken, HandlerError, Message, SessionId};
use berth_host::runtime::{acceptor, Entity, FunctionSpec, TriggerSettings};
use berth_host::servicebus::AmqpSessionSource;
use tokio::sync::Notify;

use crate::servicebus_support;
use servicebus_support::*;

const SESSIONS: u32 = 50;
const PER_SESSION: u32 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_sessions_are_processed_in_order_and_completed_exactly_once() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let sender = client.sender("orders");
    for n in 0..PER_SESSION {
        let round: Vec<Message> = (0..SESSIONS).map(|s| msg(&format!("s{s}"), n)).collect();
        sender.send_batch(&round).await.unwrap();
    }
    let total = (SESSIONS * PER_SESSION) as usize;
    assert_eq!(counts(&broker, "orders").active, total);

    let seen: Arc<Mutex<HashMap<String, Vec<u32>>>> = Arc::default();
    let invocations = Arc::new(AtomicUsize::new(0));
    let all_seen = Arc::new(Notify::new());
    let handler = {
        let (seen, invocations, all_seen) = (seen.clone(), invocations.clone(), all_seen.clone());
        move |SessionId(session): SessionId, message: Message| {
            let (seen, invocations, all_seen) =
                (seen.clone(), invocations.clone(), all_seen.clone());
            async move {
                let n = message
                    .application_properties
                    .get("n")
                    .and_then(|v| v.as_i64())
                    .ok_or_else(|| HandlerError::msg("no n"))?;
                seen.lock()
                    .unwrap()
                    .entry(session)
                    .or_default()
                    .push(n as u32);
                if invocations.fetch_add(1, Ordering::SeqCst) + 1 == total {
                    all_seen.notify_one();
                }
                Ok::<(), HandlerError>(())
            }
        }
    };
    let spec = Arc::new(FunctionSpec {
        name: "process".into(),
        entity: Entity::Queue("orders".into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings: TriggerSettings {
            max_concurrent_sessions: 8,
            session_idle_timeout: Duration::from_millis(300),
            ..TriggerSettings::default()
        },
        handler: BoxedHandler::new(handler),
    });
    let source = Arc::new(
        AmqpSessionSource::new(client.clone(), "orders".into(), 0)
            .with_accept_timeout(Duration::from_secs(2)),
    );
    let shutdown = CancellationToken::new();
    let trigger = tokio::spawn(acceptor::run(spec, source, shutdown.clone()));
    tokio::time::timeout(Duration::from_secs(120), all_seen.notified())
        .await
        .expect("not every message was processed within 120 s");
    shutdown.cancel();
    let summaries = trigger.await.unwrap();
    assert!(!summaries.is_empty());

    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), SESSIONS as usize);
        let expected: Vec<u32> = (0..PER_SESSION).collect();
        for (session, ns) in seen.iter() {
            assert_eq!(ns, &expected, "session {session}: out of order or repeated");
        }
    }
    assert_eq!(invocations.load(Ordering::SeqCst), total);
    let c = counts(&broker, "orders");
    assert_eq!(
        (c.active, c.locked, c.dead_lettered, c.deferred),
        (0, 0, 0, 0),
        "every message completed exactly once"
    );
    client.close().await;
    broker.shutdown().await;
}
