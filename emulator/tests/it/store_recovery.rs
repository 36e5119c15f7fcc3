//! Durable namespaces: what survives a restart, torn tails, compaction.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use berth_emulator::entity::{
    Disposition, EntityOptions, MessageState, Namespace, NewMessage, ReceiveMode,
};
use bytes::Bytes;

fn temp_dir(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "berth-store-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// (sequence number, body, state, dead-letter reason) of every message of `path`.
fn contents(ns: &Namespace, path: &str) -> Vec<(i64, Bytes, MessageState, Option<String>)> {
    ns.receiver(path)
        .unwrap()
        .peek(0, usize::MAX, None)
        .unwrap()
        .into_iter()
        .map(|m| {
            let reason = m.dead_letter.and_then(|d| d.reason.clone());
            (m.sequence_number, m.body, m.state, reason)
        })
        .collect()
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with(prefix))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn live_messages_state_and_definitions_survive_a_restart() {
    let dir = temp_dir("restart");
    let session_options = EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    };
    let before;
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        ns.create_queue("s", session_options.clone()).unwrap();
        ns.create_topic("t").unwrap();
        ns.create_subscription("t", "a", EntityOptions::default())
            .unwrap();
        let sender = ns.sender("q").unwrap();
        let msgs: Vec<NewMessage> = (0..6).map(|i| NewMessage::new(format!("m{i}"))).collect();
        sender.send_batch(&msgs).await.unwrap();
        let later = SystemTime::now() + Duration::from_secs(3600);
        sender
            .send(&NewMessage::new("scheduled").with_scheduled_enqueue_time(later))
            .await
            .unwrap();
        let q = ns.receiver("q").unwrap();
        q.try_receive(ReceiveMode::ReceiveAndDelete, None).unwrap();
        let mut got = Vec::new();
        q.try_receive_many(ReceiveMode::PeekLock, 5, &mut got, None)
            .unwrap();
        q.settle(&got[0].lock_token.unwrap(), Disposition::Complete)
            .unwrap();
        q.settle(
            &got[1].lock_token.unwrap(),
            Disposition::DeadLetter {
                reason: Some("R".into()),
                description: None,
                body: None,
            },
        )
        .unwrap();
        q.settle(
            &got[2].lock_token.unwrap(),
            Disposition::Defer {
                body: Some(Bytes::from("m3'")),
            },
        )
        .unwrap();
        q.settle(
            &got[3].lock_token.unwrap(),
            Disposition::Abandon {
                body: Some(Bytes::from("m4'")),
            },
        )
        .unwrap();
        // got[4] stays locked: it must come back available.
        ns.send("s", &NewMessage::new("s1").with_session_id("x"))
            .await
            .unwrap();
        let lock = ns.receiver("s").unwrap().accept_session("x").unwrap();
        lock.set_state(Some(Bytes::from("state")))
            .unwrap()
            .wait()
            .await
            .unwrap();
        ns.send("t", &NewMessage::new("fan")).await.unwrap();
        ns.flush().await.unwrap();
        before = contents(&ns, "q");
        assert_eq!(before.len(), 4, "{before:?}");
    }
    let ns = Namespace::open(&dir).await.unwrap();
    assert_eq!(contents(&ns, "q"), before);
    let dlq = contents(&ns, "q/$DeadLetterQueue");
    assert_eq!((dlq[0].0, dlq[0].3.as_deref()), (3, Some("R")));
    assert_eq!(
        (before[0].0, before[0].1.as_ref(), before[0].2),
        (4, &b"m3'"[..], MessageState::Deferred)
    );
    let q = ns.receiver("q").unwrap();
    let m = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(
        (m.sequence_number, m.body.as_ref(), m.delivery_count),
        (5, &b"m4'"[..], 0)
    );
    let was_locked = q.try_receive(ReceiveMode::PeekLock, None).unwrap().unwrap();
    assert_eq!(
        (was_locked.sequence_number, was_locked.delivery_count),
        (6, 0)
    );
    let counts = q.counts().unwrap();
    assert_eq!((counts.deferred, counts.scheduled), (1, 1));
    assert_eq!(
        ns.send("q", &NewMessage::new("next")).await.unwrap(),
        8,
        "numbers never repeat"
    );
    let s = ns.receiver("s").unwrap();
    assert_eq!(s.options(), &session_options);
    let lock = s.accept_session("x").unwrap();
    assert_eq!(lock.state().unwrap(), Some(Bytes::from("state")));
    assert_eq!(
        lock.try_receive(ReceiveMode::PeekLock, None)
            .unwrap()
            .unwrap()
            .body,
        Bytes::from("s1")
    );
    assert_eq!(contents(&ns, "t/Subscriptions/a")[0].1, Bytes::from("fan"));
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_torn_last_record_is_cut_off() {
    let dir = temp_dir("torn");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        for i in 0..3 {
            ns.send("q", &NewMessage::new(format!("m{i}")))
                .await
                .unwrap();
        }
    }
    let log = files(&dir, "log-")
        .into_iter()
        .rev()
        .find(|p| std::fs::metadata(p).unwrap().len() > 0)
        .unwrap();
    let good_len = std::fs::metadata(&log).unwrap().len();
    // A crash mid-write: a frame header promising more bytes than follow.
    let mut torn = std::fs::read(&log).unwrap();
    torn.extend_from_slice(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]);
    std::fs::write(&log, &torn).unwrap();
    {
        let ns = Namespace::open(&dir).await.unwrap();
        assert_eq!(contents(&ns, "q").len(), 3);
        assert_eq!(
            std::fs::metadata(&log).unwrap().len(),
            good_len,
            "the torn tail is truncated"
        );
        ns.send("q", &NewMessage::new("m3")).await.unwrap();
    }
    let ns = Namespace::open(&dir).await.unwrap();
    let bodies: Vec<Bytes> = contents(&ns, "q").into_iter().map(|c| c.1).collect();
    assert_eq!(bodies, vec!["m0", "m1", "m2", "m3"]);
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_corrupt_record_is_detected_by_its_checksum() {
    let dir = temp_dir("crc");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        ns.send("q", &NewMessage::new("first")).await.unwrap();
        ns.send("q", &NewMessage::new("second")).await.unwrap();
    }
    let log = files(&dir, "log-")
        .into_iter()
        .rev()
        .find(|p| std::fs::metadata(p).unwrap().len() > 0)
        .unwrap();
    let mut data = std::fs::read(&log).unwrap();
    let last = data.len() - 1;
    data[last] ^= 0xff; // flips a byte of the last record's body
    std::fs::write(&log, &data).unwrap();
    let ns = Namespace::open(&dir).await.unwrap();
    let bodies: Vec<Bytes> = contents(&ns, "q").into_iter().map(|c| c.1).collect();
    assert_eq!(bodies, vec!["first"]);
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn compaction_keeps_the_live_set_and_drops_the_rest() {
    let dir = temp_dir("compact");
    let options = berth_emulator::entity::StoreOptions {
        segment_bytes: 16 << 10,
        compaction_min_bytes: u64::MAX,
        ..Default::default()
    };
    let before;
    {
        let ns = Namespace::open_with(&dir, options.clone()).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        ns.create_queue(
            "s",
            EntityOptions {
                requires_session: true,
                ..EntityOptions::default()
            },
        )
        .unwrap();
        let sender = ns.sender("q").unwrap();
        for batch in 0..20 {
            let msgs: Vec<NewMessage> = (0..50)
                .map(|i| NewMessage::new(format!("{batch}-{i}-{}", "x".repeat(64))))
                .collect();
            sender.send_batch(&msgs).await.unwrap();
        }
        let q = ns.receiver("q").unwrap();
        let mut got = Vec::new();
        q.try_receive_many(ReceiveMode::PeekLock, 950, &mut got, None)
            .unwrap();
        for m in &got[..900] {
            q.settle(&m.lock_token.unwrap(), Disposition::Complete)
                .unwrap();
        }
        for m in &got[900..910] {
            q.settle(
                &m.lock_token.unwrap(),
                Disposition::DeadLetter {
                    reason: Some("why".into()),
                    description: Some("because".into()),
                    body: None,
                },
            )
            .unwrap();
        }
        let lock = ns
            .receiver("s")
            .unwrap()
            .accept_session("only-state")
            .unwrap();
        lock.set_state(Some(Bytes::from("kept"))).unwrap();
        drop(lock);
        let logs_before = files(&dir, "log-").len();
        assert!(logs_before > 3, "small segments roll: {logs_before}");
        ns.compact().await.unwrap();
        assert_eq!(files(&dir, "snap-").len(), 1);
        assert_eq!(files(&dir, "log-").len(), 1, "compacted logs are deleted");
        before = (contents(&ns, "q"), contents(&ns, "q/$DeadLetterQueue"));
        assert_eq!((before.0.len(), before.1.len()), (90, 10));
        ns.send("q", &NewMessage::new("after compaction"))
            .await
            .unwrap();
    }
    let ns = Namespace::open_with(&dir, options).await.unwrap();
    let mut expected = before.0.clone();
    expected.push((
        1001,
        Bytes::from("after compaction"),
        MessageState::Active,
        None,
    ));
    assert_eq!(contents(&ns, "q"), expected);
    assert_eq!(contents(&ns, "q/$DeadLetterQueue"), before.1);
    assert_eq!(
        ns.receiver("s")
            .unwrap()
            .list_sessions(None, 0, 10)
            .unwrap(),
        vec!["only-state"]
    );
    ns.compact().await.unwrap();
    drop(ns);
    let ns = Namespace::open(&dir).await.unwrap();
    assert_eq!(
        contents(&ns, "q"),
        expected,
        "a second compaction over a snapshot keeps it too"
    );
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automatic_compaction_runs_alongside_writes_without_losing_anything() {
    let dir = temp_dir("auto-compact");
    let options = berth_emulator::entity::StoreOptions {
        segment_bytes: 4 << 10,
        compaction_min_bytes: 8 << 10,
        ..Default::default()
    };
    let mut expected = std::collections::BTreeMap::new();
    {
        let ns = Namespace::open_with(&dir, options.clone()).await.unwrap();
        ns.create_queue("q", EntityOptions::default()).unwrap();
        let sender = ns.sender("q").unwrap();
        let q = ns.receiver("q").unwrap();
        for round in 0..200 {
            let msgs: Vec<NewMessage> = (0..10)
                .map(|i| NewMessage::new(format!("{round}-{i}-{}", "y".repeat(200))))
                .collect();
            let seqs = sender.send_batch(&msgs).await.unwrap();
            for (seq, m) in seqs.iter().zip(&msgs) {
                expected.insert(*seq, m.body.clone());
            }
            let mut got = Vec::new();
            q.try_receive_many(ReceiveMode::PeekLock, 9, &mut got, None)
                .unwrap();
            for m in &got {
                q.settle(&m.lock_token.unwrap(), Disposition::Complete)
                    .unwrap();
                expected.remove(&m.sequence_number);
            }
        }
        ns.flush().await.unwrap();
    }
    // Dropping the namespace waits for a running compaction; the traffic started several.
    assert!(!files(&dir, "snap-").is_empty(), "a compaction ran");
    let ns = Namespace::open_with(&dir, options).await.unwrap();
    let stored: std::collections::BTreeMap<i64, Bytes> =
        contents(&ns, "q").into_iter().map(|c| (c.0, c.1)).collect();
    assert_eq!(stored, expected);
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn deleted_entities_stay_deleted() {
    let dir = temp_dir("delete");
    {
        let ns = Namespace::open(&dir).await.unwrap();
        ns.create_queue("gone", EntityOptions::default()).unwrap();
        ns.create_topic("t").unwrap();
        ns.create_subscription("t", "s", EntityOptions::default())
            .unwrap();
        ns.send("gone", &NewMessage::new("x")).await.unwrap();
        ns.delete("gone").unwrap();
        ns.delete("t/Subscriptions/s")
            .unwrap()
            .wait()
            .await
            .unwrap();
    }
    let ns = Namespace::open(&dir).await.unwrap();
    let paths: Vec<String> = ns.entities().into_iter().map(|e| e.path).collect();
    assert_eq!(paths, vec!["t"]);
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}
