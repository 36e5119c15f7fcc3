//! Fault injection, end to end: the quickstart app (`orders-with-sessions`: session =
//! customer, body `{customer_id, step, sequence}`) against its own durable broker in another
//! process, with connections cut, black-holed, delayed and fragmented by a
//! [`FaultProxy`](examples_testkit::FaultProxy), the broker and a host killed, and a host
//! frozen past its session locks.
//!
//! Every scenario checks the same promise ([`verdict`]): no acknowledged message lost, each
//! customer's steps first processed in strictly increasing order, a step repeated only
//! while it is the one in flight, nothing left in the queue or its dead-letter queue; and
//! prints how long recovery took. The default sizes keep the whole binary short;
//! `BERTH_SOAK=1` runs 200 customers × 50 steps with more faults (the figures in
//! RELIABILITY.md). `BERTH_FAULT_SEED=<n>` replays a run's random faults.
#![allow(clippy::unwrap_used)]

#[path = "../orders/mod.rs"]
mod orders;

mod broker_kill;
mod cuts;
mod freeze;
mod host_kill;
mod stall;
mod verdict;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use examples_testkit::{count, run_ok, temp_dir, with_message, Emulator, RunningApp};
use serde_json::Value;

/// How much a scenario sends: `customers` sessions of `steps` ordered steps.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub customers: u32,
    pub steps: u32,
    /// Whether this is the soak (`BERTH_SOAK=1`).
    pub soak: bool,
}

impl Load {
    /// 20 × 10 by default; 200 × 50 with `BERTH_SOAK=1`.
    pub fn from_env() -> Load {
        if std::env::var("BERTH_SOAK").is_ok_and(|v| v == "1") {
            Load {
                customers: 200,
                steps: 50,
                soak: true,
            }
        } else {
            Load {
                customers: 20,
                steps: 10,
                soak: false,
            }
        }
    }

    pub fn total(&self) -> usize {
        (self.customers * self.steps) as usize
    }

    /// Every (customer, step) pair of the steps `steps`.
    pub fn pairs(&self, steps: std::ops::RangeInclusive<u32>) -> BTreeSet<(String, u32)> {
        steps
            .flat_map(|s| (0..self.customers).map(move |c| (format!("c{c}"), s)))
            .collect()
    }

    /// Sends every customer's steps `steps` (must succeed).
    pub fn send(&self, dir: &Path, cs: &str, steps: std::ops::RangeInclusive<u32>) {
        run_ok(orders::send_command(dir, cs, self.customers, steps));
    }

    /// A `wait_for` condition: every step of every customer was processed, in `earlier`
    /// logs or the lines waited on.
    pub fn all_processed<'a>(&self, earlier: &[&[Value]]) -> impl FnMut(&[Value]) -> bool + 'a {
        covered(self.pairs(1..=self.steps), earlier)
    }
}

/// A `wait_for` condition: every (customer, step) in `wanted` was processed, in `earlier`
/// logs or the lines waited on (each read once, so a long log stays cheap).
pub fn covered<'a>(
    mut wanted: BTreeSet<(String, u32)>,
    earlier: &[&[Value]],
) -> impl FnMut(&[Value]) -> bool + 'a {
    for lines in earlier {
        remove_processed(&mut wanted, lines);
    }
    let mut read = 0;
    move |seen| {
        remove_processed(&mut wanted, &seen[read..]);
        read = seen.len();
        wanted.is_empty()
    }
}

fn remove_processed(wanted: &mut BTreeSet<(String, u32)>, lines: &[Value]) {
    for line in with_message(lines, "session message received") {
        let customer = line["customer_id"].as_str().unwrap_or_default().to_owned();
        let step = line["sequence"].as_u64().unwrap_or_default() as u32;
        wanted.remove(&(customer, step));
    }
}

/// One scenario's load, files and durable broker.
pub struct Setup {
    pub load: Load,
    pub dir: PathBuf,
    pub broker: Emulator,
    pub cs: String,
}

impl Setup {
    /// The load from the environment, an empty temp dir `name` and a durable broker in it
    /// with session locks of `lock_duration`.
    pub fn new(name: &str, lock_duration: &str) -> Setup {
        let dir = temp_dir(name);
        let broker = orders::broker(&dir, 0, lock_duration);
        let cs = broker.connection_string.clone();
        Setup {
            load: Load::from_env(),
            dir,
            broker,
            cs,
        }
    }

    /// Sends every step of every customer.
    pub fn send_all(&self) {
        self.load.send(&self.dir, &self.cs, 1..=self.load.steps);
    }

    /// Checks with `peek` that nothing is left in the queue or its dead-letter queue, stops
    /// the broker and removes the files.
    pub fn finish(self) {
        orders::assert_queue_empty(&self.cs);
        self.broker.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A problem when these host logs show no reconnect.
pub fn reconnect_problem(lines: &[Value]) -> Option<String> {
    let connects = count(lines, "connected to Service Bus");
    (connects < 2).then(|| format!("the host never reconnected ({connects} connects)"))
}

/// `host.toml` of the fault scenarios' hosts: sessions released after 1 s idle, and
/// `extra` lines.
pub fn host_toml(extra: &str) -> String {
    format!("[service_bus]\nsession_idle_timeout = \"1s\"\n{extra}")
}

/// A host on `cs` with the scenarios' settings plus `extra`.
pub fn host(dir: &Path, cs: &str, extra: &str) -> RunningApp {
    orders::host(dir, cs, &host_toml(extra))
}

/// The broker's address in a connection string.
pub fn address_of(cs: &str) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], orders::port_of(cs)))
}

/// Prints a scenario's figures on one line, `RELIABILITY | …`, for RELIABILITY.md.
pub fn report(
    scenario: &str,
    load: Load,
    injected: &str,
    verdict: &verdict::Verdict,
    recovery: &str,
) {
    eprintln!(
        "RELIABILITY | {scenario} | {} × {} | {injected} | {} invocations, {} repeats, {} problems | {recovery}",
        load.customers,
        load.steps,
        verdict.invocations,
        verdict.repeats,
        verdict.problems.len()
    );
}

/// `(first, all)` recovery seconds as text.
pub fn seconds(recovery: Option<(f64, f64)>) -> String {
    match recovery {
        Some((first, all)) => {
            format!("first step after {first:.2} s, every session after {all:.2} s")
        }
        None => "no step ran after the fault".to_owned(),
    }
}
