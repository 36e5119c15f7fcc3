//! Broker `kill -9` and restart on the same data directory while producers send (`host
//! send`, one round of every customer's next step at a time) and the host processes.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use examples_testkit::{count, fault_seed, wait, FaultDice};

use super::orders::{self, port_of, send_command, wait_until_queue_empty};
use super::verdict::{first_after, now, recovery, Verdict};
use super::{covered, host, report, seconds, Load, Setup};

/// How long one `host send` may take before it counts as hung.
const SEND_LIMIT: Duration = Duration::from_secs(20);

/// What the producer found: the rounds `host send` confirmed, and what went wrong.
#[derive(Default)]
struct Produced {
    acknowledged: BTreeSet<u32>,
    failed_sends: usize,
    problems: Vec<String>,
}

#[test]
fn a_killed_broker_restarted_on_its_data_loses_nothing_acknowledged_and_keeps_order() {
    let mut setup = Setup::new("faults-broker", "5s");
    let (load, dir, cs) = (setup.load, setup.dir.clone(), setup.cs.clone());
    let mut app = host(&dir, &cs, "");

    // The round the producer is sending (its `host send` running).
    let sending = Arc::new(AtomicU32::new(0));
    let produced = Arc::new(Mutex::new(Produced::default()));
    let producer = {
        let (dir, cs, sending, produced) =
            (dir.clone(), cs.clone(), sending.clone(), produced.clone());
        std::thread::spawn(move || produce(&dir, &cs, load, &sending, &produced))
    };
    // Kill the broker half-way through the producers' rounds (at a quarter, half and three
    // quarters in the soak), while a `host send` runs and the host is busy.
    let rounds: Vec<u32> = if load.soak {
        vec![load.steps / 4, load.steps / 2, load.steps * 3 / 4]
    } else {
        vec![load.steps / 2]
    };
    let mut dice = FaultDice::new(fault_seed(3));
    let mut kills = Vec::new();
    let mut restarts = Vec::new();
    for round in &rounds {
        wait::poll_until(
            &format!("the producer to reach round {round}"),
            Duration::from_secs(120),
            || sending.load(Ordering::SeqCst) >= *round,
            || sending.load(Ordering::SeqCst),
        );
        std::thread::sleep(Duration::from_millis(dice.below(150)));
        setup.broker.kill();
        let killed_at = now();
        setup.broker = orders::broker(&dir, port_of(&cs), "5s");
        restarts.push(now() - killed_at);
        kills.push(killed_at);
        assert_eq!(setup.broker.connection_string, cs);
    }
    producer.join().unwrap();
    let produced = std::mem::take(&mut *produced.lock().unwrap());

    let acknowledged = load.pairs(1..=load.steps);
    let acknowledged: BTreeSet<(String, u32)> = acknowledged
        .into_iter()
        .filter(|(_, step)| produced.acknowledged.contains(step))
        .collect();
    app.wait_for(covered(acknowledged.clone(), &[]));
    wait_until_queue_empty(&cs);
    let lines = app.stop();
    let connects = count(&lines, "connected to Service Bus");
    let verdict = Verdict::check(&acknowledged, &[&lines]);
    let recoveries: Vec<String> = kills
        .iter()
        .map(|at| {
            let since = first_after(&lines, "connected to Service Bus", *at).unwrap_or(*at);
            seconds(recovery(&[&lines], *at, since, load.steps))
        })
        .collect();
    report(
        "broker kill -9",
        load,
        &format!(
            "{} kill -9 at rounds {rounds:?} of {}, each restarted on the same data dir (in {}); {} sends failed and were retried; {connects} connects",
            kills.len(),
            load.steps,
            restarts.iter().map(|r| format!("{r:.2} s")).collect::<Vec<_>>().join(", "),
            produced.failed_sends
        ),
        &verdict,
        &recoveries.join("; "),
    );
    let mut extra = produced.problems;
    if connects <= kills.len() {
        extra.push(format!(
            "the host reconnected {} times after {} kills",
            connects.saturating_sub(1),
            kills.len()
        ));
    }
    verdict.assert_held("broker kill -9", &extra, &dir, &[&lines]);
    setup.finish();
}

/// `host send` with the broker killed under it: it must end, failing, and say how many
/// messages the broker confirmed, instead of hanging.
#[test]
fn host_send_fails_clearly_when_the_broker_is_killed_during_it() {
    let mut setup = Setup::new("faults-send", "5s");
    // 100,000 messages: seconds of sending, so the kill lands in the middle.
    let mut command = send_command(&setup.dir, &setup.cs, 1_000, 1..=100);
    command.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    wait::poll_until(
        "the send to store something",
        Duration::from_secs(60),
        || {
            assert!(
                child.try_wait().unwrap().is_none(),
                "the send ended before the kill"
            );
            orders::peek(&setup.cs, false) != serde_json::json!([])
        },
        || "an empty queue",
    );
    setup.broker.kill();
    let outcome = finish(child, SEND_LIMIT);
    let _ = std::fs::remove_dir_all(&setup.dir);
    match outcome {
        Ok(()) => panic!("`host send` succeeded although the broker was killed during it"),
        Err(Failure::Hung(problem)) => panic!("{problem}"),
        Err(Failure::Failed(stderr)) => {
            eprintln!("`host send` with the broker killed: {}", stderr.trim());
            assert!(
                stderr.contains("message") && stderr.bytes().any(|b| b.is_ascii_digit()),
                "`host send` failed without saying how many messages were confirmed: {stderr}"
            );
        }
    }
}

/// Sends round after round (every customer's step `round`), 100 ms apart so the run spans
/// the kill, storing in `sending` the round whose `host send` was just started; a failed or hung send is retried until it is confirmed (a retried round may
/// be stored twice: that repeats a step before the next one is sent, which the verdict
/// allows as in flight).
fn produce(
    dir: &std::path::Path,
    cs: &str,
    load: Load,
    sending: &AtomicU32,
    produced: &Mutex<Produced>,
) {
    let dir: PathBuf = dir.join("producer");
    std::fs::create_dir_all(&dir).unwrap();
    for round in 1..=load.steps {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            assert!(
                Instant::now() < deadline,
                "round {round} was not confirmed in 90 s"
            );
            let mut command = send_command(&dir, cs, load.customers, round..=round);
            command
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            let child = command.spawn().unwrap();
            sending.store(round, Ordering::SeqCst);
            match finish(child, SEND_LIMIT) {
                Ok(()) => break,
                Err(failure) => {
                    let mut p = produced.lock().unwrap();
                    p.failed_sends += 1;
                    if let Failure::Hung(problem) = failure {
                        p.problems.push(format!("round {round}: {problem}"));
                    }
                    drop(p);
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        produced.lock().unwrap().acknowledged.insert(round);
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Why a `host send` did not succeed.
enum Failure {
    /// It exited non-zero, with this standard error.
    Failed(String),
    /// It had to be killed: neither finished nor failed in time.
    Hung(String),
}

/// Waits for a `host send` (at most `limit`), reading its piped standard error meanwhile.
fn finish(mut child: Child, limit: Duration) -> Result<(), Failure> {
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let stderr = reader.join().unwrap();
            return if status.success() {
                Ok(())
            } else {
                Err(Failure::Failed(stderr))
            };
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(Failure::Hung(format!(
                "`host send` neither finished nor failed within {limit:?} after the broker was killed (hung)"
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
