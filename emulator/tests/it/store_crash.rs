//! Crash safety: a child process sends to a durable namespace and is killed with SIGKILL;
//! every send it saw acknowledged must be there after reopening.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::collections::BTreeMap;
use std::process::Stdio;

use berth_emulator::entity::{EntityOptions, Namespace, NewMessage};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::wait::within;

const CHILD_DIR: &str = "BERTH_STORE_CRASH_CHILD_DIR";
const ACKS_BEFORE_KILL: usize = 3_000;

/// The child: sends forever (batches and single sends from several tasks), printing
/// `ACK <seq> <body>` for every send whose commit resolved. Run only by the parent test.
#[test]
#[ignore = "run as a child process by acknowledged_sends_survive_kill_9"]
fn crash_child() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async move {
        let ns = Namespace::open(&dir).await.unwrap();
        let _ = ns.create_queue("q", EntityOptions::default());
        let mut tasks = Vec::new();
        for task in 0..4 {
            let sender = ns.sender("q").unwrap();
            tasks.push(tokio::spawn(async move {
                for round in 0u64.. {
                    let msgs: Vec<NewMessage> = (0..(1 + task * 5))
                        .map(|i| NewMessage::new(format!("t{task}-r{round}-{i}")))
                        .collect();
                    let seqs = sender.send_batch(&msgs).await.unwrap();
                    let mut out = String::new();
                    for (seq, m) in seqs.iter().zip(&msgs) {
                        out.push_str(&format!("ACK {seq} {}\n", String::from_utf8_lossy(&m.body)));
                    }
                    print!("{out}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
}

#[tokio::test]
async fn acknowledged_sends_survive_kill_9() {
    let dir = std::env::temp_dir().join(format!("berth-store-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(crate::child_test(module_path!(), "crash_child"))
        .args(["--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, &dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = BTreeMap::new();
    let parse = |acked: &mut BTreeMap<i64, String>, line: String| {
        if let Some(rest) = line.strip_prefix("ACK ") {
            if let Some((seq, body)) = rest.split_once(' ') {
                acked.insert(seq.parse::<i64>().unwrap(), body.to_owned());
            }
        }
    };
    while acked.len() < ACKS_BEFORE_KILL {
        let line = within("the child's next acknowledgement", lines.next_line())
            .await
            .unwrap()
            .expect("the child keeps acknowledging");
        parse(&mut acked, line);
    }
    child.kill().await.unwrap(); // SIGKILL, then reaped
                                 // Whatever the child printed before dying was acknowledged too.
    while let Some(line) = within("the killed child's last lines", lines.next_line())
        .await
        .unwrap()
    {
        parse(&mut acked, line);
    }
    let ns = Namespace::open(&dir).await.unwrap();
    let q = ns.receiver("q").unwrap();
    let stored: BTreeMap<i64, String> = q
        .peek(0, usize::MAX, None)
        .unwrap()
        .into_iter()
        .map(|m| {
            (
                m.sequence_number,
                String::from_utf8_lossy(&m.body).into_owned(),
            )
        })
        .collect();
    let missing: Vec<_> = acked
        .iter()
        .filter(|(seq, body)| stored.get(seq) != Some(body))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged sends lost, e.g. {:?}",
        missing.len(),
        acked.len(),
        missing.first()
    );
    assert!(stored.len() >= acked.len());
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}
