//! Crash safety of settlements: a durable broker runs as a child process (this test binary,
//! re-run as `broker_child`) and is killed with SIGKILL at a random point while hand-driven
//! AMQP clients work through sessions in peek-lock, one message at a time (credit 1). After
//! each restart on the same data directory:
//! * a client that waits for the broker's settled disposition before taking the next message
//!   never sees a confirmed completion undone: each session resumes, in order, at its first
//!   unconfirmed message (or the one after it, when that completion reached the disk before
//!   the crash but its answer did not reach the client);
//! * a client that settles fire-and-forget (settled disposition, no answer) sees at most its
//!   in-flight (last) message again, never an earlier one: the broker hands out a session's
//!   next message only once the previous completion is on disk.
//!
//! `BERTH_SESSION_CRASH_ROUNDS=n` runs n kills per mode (default 2; the CI soak runs more);
//! the seed is printed and `BERTH_SESSION_CRASH_SEED` replays a run.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod client;

use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use berth_emulator::broker::Broker;
use berth_emulator::entity::Namespace;
use berth_emulator::store::StoreOptions;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use client::{Mode, Progress, SESSIONS, STEPS};

const CHILD_DIR: &str = "BERTH_SESSION_CRASH_CHILD_DIR";
const CHILD_POPULATE: &str = "BERTH_SESSION_CRASH_POPULATE";
const ENTITIES: &str = "[[queues]]\nname = \"orders\"\nrequires_session = true\n";
/// The child's disk is made this slow, so that kills land while settlements wait for it (a
/// fast disk leaves only a sliver of time in which a crash can undo anything).
const WRITE_DELAY: Duration = Duration::from_millis(10);
/// Longest a round may take before the test gives up on it.
const ROUND_DEADLINE: Duration = Duration::from_secs(120);

/// The child: a durable broker on an ephemeral port that prints `PORT <n>` and runs until
/// killed. With `CHILD_POPULATE` set it first enqueues every session's steps. Run only by
/// the tests below.
#[tokio::test]
#[ignore = "run as a child process by the session crash tests"]
async fn broker_child() {
    let dir = std::env::var(CHILD_DIR).expect("the parent sets the data directory");
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .data_dir(&dir)
        .store_options(StoreOptions {
            write_delay: WRITE_DELAY,
            ..StoreOptions::default()
        })
        .entities_toml(ENTITIES)
        .unwrap()
        .start()
        .await
        .unwrap();
    if std::env::var_os(CHILD_POPULATE).is_some() {
        let sender = broker.namespace().sender("orders").unwrap();
        for step in 1..=STEPS {
            let batch: Vec<_> = (0..SESSIONS)
                .map(|s| client::new_message(s, step))
                .collect();
            sender.send_batch(&batch).await.unwrap();
        }
    }
    println!("PORT {}", broker.local_addr().port());
    std::future::pending::<()>().await;
}

/// A started broker child and its port.
async fn start_broker(dir: &Path, populate: bool) -> (Child, u16) {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .arg(crate::child_test(module_path!(), "broker_child"))
        .args(["--exact", "--ignored", "--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if populate {
        command.env(CHILD_POPULATE, "1");
    }
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let port = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            // libtest may print `test broker_child ... ` on the same line first.
            if let Some((_, port)) = line.split_once("PORT ") {
                return port.parse::<u16>().unwrap();
            }
        }
        panic!("the broker child ended without printing its port")
    })
    .await
    .expect("the broker child printed no port within 60 s");
    (child, port)
}

/// A small xorshift generator: reproducible kill points without a dependency.
struct Rng(u64);

impl Rng {
    fn seeded() -> Self {
        let seed = std::env::var("BERTH_SESSION_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .subsec_nanos();
                u64::from(nanos) | 1
            });
        eprintln!("BERTH_SESSION_CRASH_SEED={seed}");
        Self(seed)
    }

    /// A number in `1..=max` (1 when `max` is 0).
    fn upto(&mut self, max: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        1 + (self.0 % max.max(1) as u64) as usize
    }
}

/// Runs every session to its last step through `rounds` broker kills, checking each delivery
/// against what the client saw before the crash.
async fn run(mode: Mode) {
    let rounds: usize = std::env::var("BERTH_SESSION_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let mut rng = Rng::seeded();
    let dir = std::env::temp_dir().join(format!(
        "berth-session-crash-{}-{mode:?}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let progress = Arc::new(Mutex::new(Progress::new()));
    let done = Arc::new(AtomicUsize::new(0));
    for round in 0..=rounds {
        let (mut child, port) = start_broker(&dir, round == 0).await;
        let workers: Vec<_> = (0..SESSIONS)
            .map(|s| tokio::spawn(client::work(port, s, mode, progress.clone(), done.clone())))
            .collect();
        let deadline = Instant::now() + ROUND_DEADLINE;
        if round < rounds {
            // Kill after a random share of what is left, while the clients are busy.
            // `done` also counts repeats; what is left comes from the sessions' progress.
            let settled: u32 = progress.lock().unwrap().settled.iter().sum();
            let left = (SESSIONS as u32 * STEPS - settled) as usize;
            let kill_at = done.load(Ordering::SeqCst) + rng.upto(left / 2);
            while done.load(Ordering::SeqCst) < kill_at && !workers.iter().all(|w| w.is_finished())
            {
                assert!(
                    Instant::now() < deadline,
                    "round {round}: waited {ROUND_DEADLINE:?} for {kill_at} settled steps, have {}",
                    done.load(Ordering::SeqCst)
                );
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            child.start_kill().unwrap(); // SIGKILL
            child.wait().await.unwrap();
        }
        for worker in workers {
            tokio::time::timeout_at(deadline.into(), worker)
                .await
                .unwrap_or_else(|_| panic!("round {round}: a client did not finish in time"))
                .unwrap();
        }
        let _ = child.start_kill();
        let _ = child.wait().await;
    }
    let progress = std::mem::replace(&mut *progress.lock().unwrap(), Progress::new());
    assert!(
        progress.violations.is_empty(),
        "{mode:?}: {} ordering violations, e.g. {:?}",
        progress.violations.len(),
        &progress.violations[..progress.violations.len().min(5)]
    );
    for s in 0..SESSIONS {
        assert_eq!(progress.settled[s], STEPS, "session {s} did not finish");
    }
    // What is left on disk: nothing once confirmed; at most the last step per session when the
    // last completion was fire-and-forget and the broker was killed right after it.
    let ns = Namespace::open(&dir).await.unwrap();
    let left = ns
        .receiver("orders")
        .unwrap()
        .peek(0, 10_000, None)
        .unwrap();
    let allowed = match mode {
        Mode::WaitForVerdict => 0,
        Mode::FireAndForget => SESSIONS,
    };
    assert!(
        left.len() <= allowed,
        "{mode:?}: {} messages left after every session finished",
        left.len()
    );
    for m in &left {
        let (_, step) = client::step_of(&m.body).unwrap();
        assert_eq!(step, STEPS, "only a last step may be left, found {step}");
    }
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_completions_survive_kill_9_and_sessions_resume_in_order() {
    run(Mode::WaitForVerdict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fire_and_forget_completions_repeat_only_the_in_flight_message_after_kill_9() {
    run(Mode::FireAndForget).await;
}

/// The gate itself, in process: on a slow disk, a session's next message is not handed out
/// (peek-lock or receive-and-delete, to this holder or the next) until the previous
/// settlement is durable, and the waiting receiver is woken when it is.
#[tokio::test]
async fn next_session_message_waits_for_the_previous_settlement_to_be_durable() {
    use berth_emulator::entity::{Disposition, EntityOptions, ReceiveMode};

    let dir = std::env::temp_dir().join(format!("berth-session-gate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = StoreOptions {
        // Far longer than the few microseconds between the settlement and the receive below.
        write_delay: Duration::from_millis(250),
        ..StoreOptions::default()
    };
    let ns = Namespace::open_with(&dir, options).await.unwrap();
    let queue = EntityOptions {
        requires_session: true,
        ..EntityOptions::default()
    };
    ns.create_queue("orders", queue)
        .unwrap()
        .wait()
        .await
        .unwrap();
    let batch: Vec<_> = (1..=4).map(|step| client::new_message(0, step)).collect();
    ns.sender("orders")
        .unwrap()
        .send_batch(&batch)
        .await
        .unwrap();
    let entity = ns.receiver("orders").unwrap();
    let lock = entity.accept_session("s0").unwrap();
    let step = |m: &berth_emulator::entity::ReceivedMessage| client::step_of(&m.body).unwrap().1;

    // Peek-lock: nothing logged by taking the lock, so prefetch is not held back...
    let first = lock
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap()
        .unwrap();
    assert_eq!(step(&first), 1);
    let token = first.lock_token.unwrap();
    let commit = lock.settle(&token, Disposition::Complete).unwrap();
    // ...but after a completion the next message waits for it to reach the disk.
    assert!(!commit.is_durable(), "the slow disk has not written yet");
    let held = lock.try_receive(ReceiveMode::PeekLock, None).unwrap();
    assert!(
        held.is_none(),
        "step 2 was handed out before step 1's completion was durable"
    );
    let second = tokio::time::timeout(Duration::from_secs(30), lock.receive(ReceiveMode::PeekLock))
        .await
        .expect("the receiver was not woken when the completion became durable")
        .unwrap();
    assert!(commit.is_durable());
    assert_eq!(step(&second), 2);

    // The gate belongs to the session, not the holder: a new holder waits as well.
    let commit = lock
        .settle(&second.lock_token.unwrap(), Disposition::Complete)
        .unwrap();
    lock.release().unwrap();
    let next_holder = entity.accept_session("s0").unwrap();
    let held = next_holder
        .try_receive(ReceiveMode::PeekLock, None)
        .unwrap();
    assert!(
        held.is_none() && !commit.is_durable(),
        "a new holder got step 3 too early"
    );

    // Receive-and-delete logs the removal: the message after it waits as well.
    let third = tokio::time::timeout(
        Duration::from_secs(30),
        next_holder.receive(ReceiveMode::ReceiveAndDelete),
    )
    .await
    .expect("step 3 never came")
    .unwrap();
    assert_eq!(step(&third), 3);
    let held = next_holder
        .try_receive(ReceiveMode::ReceiveAndDelete, None)
        .unwrap();
    assert!(
        held.is_none(),
        "step 4 was handed out before step 3's removal was durable"
    );
    drop(next_holder);
    drop(ns);
    std::fs::remove_dir_all(&dir).unwrap();
}
