//! Throughput of send + receive + complete, in memory and durable (not a test; run with
//! `cargo test --release -p berth-emulator --test it store_bench -- --ignored --nocapture`).
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::time::Instant;

use berth_emulator::entity::{Disposition, EntityOptions, Namespace, NewMessage, ReceiveMode};

const MESSAGES: usize = 100_000;
const BATCH: usize = 100;

async fn batched(ns: &Namespace) -> (f64, f64) {
    ns.create_queue("bench", EntityOptions::default()).unwrap();
    let sender = ns.sender("bench").unwrap();
    let q = ns.receiver("bench").unwrap();
    let batch: Vec<NewMessage> = (0..BATCH)
        .map(|_| NewMessage::new(vec![7u8; 256]))
        .collect();
    let start = Instant::now();
    for _ in 0..MESSAGES / BATCH {
        sender.send_batch(&batch).await.unwrap();
    }
    let send = MESSAGES as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let mut got = Vec::with_capacity(BATCH);
    let mut last = None;
    let mut n = 0;
    while n < MESSAGES {
        got.clear();
        n += q
            .try_receive_many(ReceiveMode::PeekLock, BATCH, &mut got, None)
            .unwrap();
        for m in &got {
            last = Some(
                q.settle(&m.lock_token.unwrap(), Disposition::Complete)
                    .unwrap(),
            );
        }
    }
    if let Some(commit) = last {
        commit.wait().await.unwrap();
    }
    (send, MESSAGES as f64 / start.elapsed().as_secs_f64())
}

/// 64 concurrent senders of single messages: group commit at work.
async fn concurrent_singles(ns: &Namespace) -> f64 {
    ns.create_queue("singles", EntityOptions::default())
        .unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..64)
        .map(|_| {
            let sender = ns.sender("singles").unwrap();
            tokio::spawn(async move {
                let msg = NewMessage::new(vec![7u8; 256]);
                for _ in 0..MESSAGES / 64 {
                    sender.send(&msg).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (MESSAGES / 64 * 64) as f64 / start.elapsed().as_secs_f64()
}

const SESSIONS: usize = 256;
const PER_SESSION: usize = 100;
const CONSUMERS: usize = 32;

/// 32 consumers take sessions one after another and complete each message one at a time
/// (credit 1, like the host): waiting for each completion's commit (`verdict`) or not.
async fn sessions(ns: &Namespace, name: &str, verdict: bool) -> f64 {
    let options = EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    };
    ns.create_queue(name, options).unwrap();
    let sender = ns.sender(name).unwrap();
    for step in 0..PER_SESSION {
        let batch: Vec<NewMessage> = (0..SESSIONS)
            .map(|s| NewMessage::new(vec![step as u8; 256]).with_session_id(format!("s{s}")))
            .collect();
        sender.send_batch(&batch).await.unwrap();
    }
    let start = Instant::now();
    let tasks: Vec<_> = (0..CONSUMERS)
        .map(|_| {
            let q = ns.receiver(name).unwrap();
            tokio::spawn(async move {
                while let Ok(Some(lock)) = q.try_accept_next_session(None) {
                    let mut last = None;
                    for _ in 0..PER_SESSION {
                        let m = lock.receive(ReceiveMode::PeekLock).await.unwrap();
                        let commit = lock
                            .settle(&m.lock_token.unwrap(), Disposition::Complete)
                            .unwrap();
                        if verdict {
                            commit.wait().await.unwrap();
                        } else {
                            last = Some(commit);
                        }
                    }
                    if let Some(commit) = last {
                        commit.wait().await.unwrap();
                    }
                    lock.release().unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (SESSIONS * PER_SESSION) as f64 / start.elapsed().as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn throughput() {
    let memory = Namespace::in_memory();
    let (ms, mr) = batched(&memory).await;
    let msingle = concurrent_singles(&memory).await;
    let dir = std::env::temp_dir().join(format!("berth-store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let durable = Namespace::open(&dir).await.unwrap();
    let (ds, dr) = batched(&durable).await;
    let dsingle = concurrent_singles(&durable).await;
    let verdict = sessions(&durable, "verdict", true).await;
    let forget = sessions(&durable, "forget", false).await;
    println!("{MESSAGES} messages of 256 bytes, batches of {BATCH}:");
    println!("  in memory: send {ms:>10.0} msg/s, receive+complete {mr:>10.0} msg/s, 64 concurrent single sends {msingle:>10.0} msg/s");
    println!("  durable:   send {ds:>10.0} msg/s, receive+complete {dr:>10.0} msg/s, 64 concurrent single sends {dsingle:>10.0} msg/s");
    println!("  durable sessions ({SESSIONS} x {PER_SESSION}, {CONSUMERS} consumers, one message at a time): receive+complete {verdict:>8.0} msg/s waiting for each commit, {forget:>8.0} msg/s not waiting");
    drop(durable);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(ms > 0.0 && ds > 0.0);
}
