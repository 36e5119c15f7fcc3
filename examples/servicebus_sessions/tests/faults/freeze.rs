//! A host frozen (SIGSTOP: a long pause, a partitioned VM) past its 3 s session locks while
//! a second host takes its sessions over and finishes them; then resumed (SIGCONT). The
//! resumed host must not run a handler for a step the other host already processed past.

use std::time::Duration;

use examples_testkit::at_least;

use super::orders::{self, received};
use super::verdict::{invocations, now, recovery, Verdict};
use super::{host, report, seconds, Setup};

#[test]
fn a_frozen_host_resumed_after_a_takeover_runs_no_stale_step() {
    freeze_and_take_over("faults-freeze", "prefetch_count = 0\n");
}

/// The same with prefetching hosts: the frozen one holds messages it received before the
/// freeze, and settles one while it already handles the next.
#[test]
fn a_frozen_prefetching_host_resumed_after_a_takeover_runs_no_stale_step() {
    freeze_and_take_over("faults-freeze-prefetch", "prefetch_count = 4\n");
}

/// Freezes a host (with `settings`; files in the temp dir `name`) a quarter into the run, lets a second host finish,
/// resumes the first and checks what it did.
fn freeze_and_take_over(name: &str, settings: &str) {
    let setup = Setup::new(name, "3s");
    setup.send_all();
    let (load, dir, cs) = (setup.load, setup.dir.clone(), setup.cs.clone());

    let mut frozen = host(&dir, &cs, settings);
    frozen.wait_for(at_least("session message received", load.total() / 4));
    frozen.signal("STOP");
    let stopped_at = now();
    // What it wrote before the freeze is still in its pipe: read it.
    frozen.wait_until_quiet(Duration::from_millis(500), Duration::from_secs(10));
    let before = frozen.seen().to_vec();

    let mut other = host(&dir, &cs, settings);
    other.wait_for(load.all_processed(&[&before]));
    orders::wait_until_queue_empty(&cs);
    // Taken first: the host may log the moment it resumes, before `kill` returns.
    let resumed_at = now();
    frozen.signal("CONT");
    // Let the resumed host find out what happened to its sessions and settle down.
    frozen.wait_until_quiet(Duration::from_secs(3), Duration::from_secs(60));
    let frozen = frozen.stop();
    let other = other.stop();

    let mut stale = Vec::new();
    let all = invocations(&[&frozen, &other]);
    for (customer, list) in &all {
        for late in list.iter().filter(|i| i.host == 0 && i.at > resumed_at) {
            let done = list
                .iter()
                .filter(|i| i.host == 1 && i.at < late.at)
                .map(|i| i.step)
                .max();
            if let Some(done) = done.filter(|d| late.step <= *d) {
                stale.push(format!(
                    "{customer}: the resumed host ran step {} after the other host had processed up to step {done}",
                    late.step
                ));
            }
        }
    }
    let verdict = Verdict::check(&load.pairs(1..=load.steps), &[&frozen, &other]);
    let after_resume: usize = all
        .values()
        .flatten()
        .filter(|i| i.host == 0 && i.at > resumed_at)
        .count();
    report(
        "host frozen past its locks",
        load,
        &format!(
            "{}SIGSTOP after {} steps, 3 s locks, a second host took over; SIGCONT {:.1} s later; {after_resume} invocations after the resume, {} stale",
            settings.replace('\n', "; "),
            received(&before),
            resumed_at - stopped_at,
            stale.len()
        ),
        &verdict,
        &seconds(recovery(&[&frozen, &other], stopped_at, stopped_at, load.steps)),
    );
    verdict.assert_held(
        "host frozen past its locks",
        &stale,
        &dir,
        &[&frozen, &other],
    );
    setup.finish();
}
