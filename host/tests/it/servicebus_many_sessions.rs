//! One connection holds many sessions at once: every accepted session is an AMQP session on
//! the client's one connection, so the client must not cap the channels below what the broker
//! offers (fe2o3-amqp's own default is 256 channels).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use berth::Message;
use berth_host::runtime::{SessionSource, SourceSession};

use crate::servicebus_support;
use servicebus_support::*;

const SESSIONS: u32 = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_sessions_are_held_at_once_on_one_connection() {
    let broker = start(ENTITIES).await;
    let client = client(&broker).await;
    let batch: Vec<Message> = (0..SESSIONS).map(|s| msg(&format!("s{s}"), 0)).collect();
    client.sender("orders").send_batch(&batch).await.unwrap();

    let source = source(&client, "orders");
    let mut held = Vec::new();
    for _ in 0..SESSIONS {
        let session = tokio::time::timeout(WAIT, source.accept_next())
            .await
            .expect("accepting a session timed out")
            .unwrap()
            .unwrap();
        held.push(session);
    }
    let ids: BTreeSet<String> = held.iter().map(|s| s.session_id().to_owned()).collect();
    assert_eq!(ids.len(), SESSIONS as usize, "each session accepted once");
    // All of them are usable at once.
    for session in &mut held {
        let received = session.receive(WAIT).await.unwrap().unwrap();
        session
            .settle(received.token, berth::Settlement::Complete)
            .await
            .unwrap();
    }
    for session in held {
        session.release().await;
    }
    let c = counts(&broker, "orders");
    assert_eq!((c.active, c.locked), (0, 0));
    client.close().await;
    broker.shutdown().await;
}
