//! `host peek` as an operator runs it, against an in-process broker: active, deferred and
//! dead-lettered messages with their fields, one session, paging with --from/--count, text
//! output, and clear errors for bad input; and against a scripted misbehaving peer
//! (`peek_peer`), pages that never repeat or go backwards whatever the broker answers.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};
use std::sync::Arc;

use berth::{Message, Settlement};
use berth_host::runtime::{SessionSource, SourceSession};
use serde_json::Value;

use crate::servicebus_support;
use servicebus_support::*;

use crate::peek_peer;
use peek_peer::PeekPeer;

/// Runs `host peek` with `args` (off the async runtime, so the broker keeps serving).
async fn peek(cs: &str, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_host"));
    command
        .arg("peek")
        .args(["--connection-string", cs])
        .args(args);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

async fn peek_json(cs: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = peek(cs, &all).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn ids(list: &[Value]) -> Vec<&str> {
    list.iter()
        .map(|m| m["message_id"].as_str().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peek_shows_active_deferred_and_dead_lettered_messages() {
    let broker = start(ENTITIES).await;
    let cs = broker.connection_string();
    let client = client(&broker).await;
    let mut batch: Vec<Message> = (0..3).map(|n| msg("s1", n)).collect();
    batch.push(msg("s2", 0).property("MessageType", "Order"));
    client.sender("orders").send_batch(&batch).await.unwrap();

    // s1-0 is dead-lettered, s1-1 deferred; s1-2 and s2-0 stay active.
    let source = source(&client, "orders");
    let mut session = source.accept_session("s1").await.unwrap().unwrap();
    let first = session.receive(WAIT).await.unwrap().unwrap();
    session
        .settle(
            first.token,
            Settlement::dead_letter("BadOrder", "the order has no customer"),
        )
        .await
        .unwrap();
    let second = session.receive(WAIT).await.unwrap().unwrap();
    session
        .settle(second.token, Settlement::defer())
        .await
        .unwrap();
    session.release().await;
    let c = counts(&broker, "orders");
    assert_eq!((c.dead_lettered, c.deferred), (1, 1));

    let all = peek_json(&cs, &["--queue", "orders", "--count", "100"]).await;
    assert_eq!(ids(&all), ["s1-1", "s1-2", "s2-0"]);
    let sequence: Vec<i64> = all
        .iter()
        .map(|m| m["sequence_number"].as_i64().unwrap())
        .collect();
    assert!(sequence.windows(2).all(|w| w[0] < w[1]), "{sequence:?}");
    assert_eq!(all[0]["state"], "deferred");
    assert_eq!(all[1]["state"], "active");
    assert_eq!(all[1]["delivery_count"], 0);
    assert_eq!(all[1]["session_id"], "s1");
    assert_eq!(all[1]["body"], "s1-2");
    assert_eq!(all[1]["properties"]["n"], 2);
    assert!(all[1]["enqueued_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(all[2]["properties"]["MessageType"], "Order");

    let dead = peek_json(&cs, &["--queue", "orders", "--dead-letter"]).await;
    assert_eq!(ids(&dead), ["s1-0"]);
    assert_eq!(dead[0]["dead_letter_reason"], "BadOrder");
    assert_eq!(
        dead[0]["dead_letter_description"],
        "the order has no customer"
    );

    let one_session = peek_json(&cs, &["--queue", "orders", "--session", "s2"]).await;
    assert_eq!(ids(&one_session), ["s2-0"]);

    // Paging: one message from the second active one on.
    let from = sequence[1].to_string();
    let page = peek_json(&cs, &["--queue", "orders", "--from", &from, "--count", "1"]).await;
    assert_eq!(ids(&page), ["s1-2"]);

    // Text, with the body cut.
    let out = peek(
        &cs,
        &["--queue", "orders", "--dead-letter", "--max-body", "3"],
    )
    .await;
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("id=s1-0"), "{text}");
    assert!(text.contains("session=s1"), "{text}");
    assert!(
        text.contains("dead-lettered: BadOrder: the order has no customer"),
        "{text}"
    );
    assert!(text.contains("body (4 bytes): s1-…"), "{text}");
    assert!(text.ends_with("1 message\n"), "{text}");

    // Peeking took no locks and moved nothing.
    let c = counts(&broker, "orders");
    assert_eq!(
        (c.active, c.locked, c.deferred, c.dead_lettered),
        (2, 0, 1, 1)
    );
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_a_clear_error() {
    let broker = start(ENTITIES).await;
    let cs = broker.connection_string();

    let out = peek(&cs, &["--topic", "events"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--subscription"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = peek(&cs, &["--queue", "no-such-queue"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");

    let out = peek("Endpoint=nonsense", &["--queue", "orders"]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
    broker.shutdown().await;
}

fn sequence_numbers(list: &[Value]) -> Vec<i64> {
    list.iter()
        .map(|m| m["sequence_number"].as_i64().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_never_repeat_or_go_backwards_whatever_the_broker_answers() {
    // Messages #1..#10. Each answer starts two before the number asked for (repeating two
    // already shown), lists its three messages backwards and each twice.
    let peer = PeekPeer::start(Arc::new(|from, _count| {
        if from > 10 {
            return Vec::new();
        }
        let first = (from - 2).max(1);
        let mut numbers: Vec<i64> = (first..first + 3).filter(|n| *n <= 10).rev().collect();
        numbers.extend(numbers.clone());
        numbers
    }))
    .await;
    let list = peek_json(
        &peer.connection_string(),
        &["--queue", "orders", "--count", "100"],
    )
    .await;
    assert_eq!(sequence_numbers(&list), (1..=10).collect::<Vec<_>>());
    assert_eq!(list[3]["body"], "body 4");
    // Each request started after the last message shown: the cursor only moved forward.
    assert_eq!(peer.asked(), [0, 4, 5, 6, 7, 8, 9, 10, 11]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_does_not_move_forward_stops_peek_with_a_clear_error() {
    // Whatever is asked, the same three messages, out of order.
    let peer = PeekPeer::start(Arc::new(|_from, _count| vec![3, 1, 2])).await;
    let out = peek(
        &peer.connection_string(),
        &["--queue", "orders", "--count", "100", "--json"],
    )
    .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("from sequence number 4 with 3 messages numbered 1 to 3")
            && stderr.contains("does not move forward")
            && stderr.contains("stopped after 3 messages"),
        "{stderr}"
    );
    // What was peeked before is still shown, once.
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sequence_numbers(list.as_array().unwrap()), [1, 2, 3]);
    assert_eq!(peer.asked(), [0, 4]);
}
