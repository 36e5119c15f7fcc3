//! What every fault scenario checks in the hosts' JSON logs, and how long recovery took.
//!
//! The promise: each customer's (session's) steps are processed in order, at least once.
//! Under faults that means: no acknowledged step is lost; the order in which steps are
//! processed for the *first* time is strictly increasing; and a step is only ever processed
//! again while it is the latest step processed so far — the one in flight when the fault
//! hit — never after a later step was processed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use examples_testkit::with_message;
use serde_json::Value;

/// One handler invocation, as a host logged it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// When it was logged (seconds since the Unix epoch, from the line's timestamp).
    pub at: f64,
    /// Which host (index into the logs given) ran it.
    pub host: usize,
    /// The order step (`sequence`).
    pub step: u32,
}

/// Every customer's invocations, by all hosts together, in time order.
pub fn invocations(hosts: &[&[Value]]) -> BTreeMap<String, Vec<Invocation>> {
    let mut all: BTreeMap<String, Vec<Invocation>> = BTreeMap::new();
    for (host, lines) in hosts.iter().enumerate() {
        for line in with_message(lines, "session message received") {
            all.entry(line["customer_id"].as_str().unwrap().to_owned())
                .or_default()
                .push(Invocation {
                    at: log_time(line),
                    host,
                    step: line["sequence"].as_u64().unwrap() as u32,
                });
        }
    }
    for list in all.values_mut() {
        // Stable: one host's lines keep their order when timestamps tie.
        list.sort_by(|a, b| a.at.total_cmp(&b.at));
    }
    all
}

/// The problems found, and counts for the report.
#[derive(Debug, Default)]
pub struct Verdict {
    /// What broke the promise (empty: it held).
    pub problems: Vec<String>,
    /// Invocations in all.
    pub invocations: usize,
    /// Invocations of a step seen before (allowed only for the in-flight step).
    pub repeats: usize,
}

impl Verdict {
    /// Checks the promise for `acknowledged` (customer, step) pairs against what the hosts
    /// logged.
    pub fn check(acknowledged: &BTreeSet<(String, u32)>, hosts: &[&[Value]]) -> Verdict {
        let all = invocations(hosts);
        let mut verdict = Verdict::default();
        for (customer, step) in acknowledged {
            let seen = all
                .get(customer)
                .is_some_and(|list| list.iter().any(|i| i.step == *step));
            if !seen {
                verdict.problems.push(format!(
                    "{customer} step {step}: acknowledged, never processed (lost)"
                ));
            }
        }
        for (customer, list) in &all {
            verdict.invocations += list.len();
            let mut firsts = Vec::new();
            let mut latest = 0;
            for invocation in list {
                if firsts.contains(&invocation.step) {
                    verdict.repeats += 1;
                    if invocation.step != latest {
                        verdict.problems.push(format!(
                            "{customer}: step {} processed again (host {}) after step {latest} was processed; steps: {}",
                            invocation.step,
                            invocation.host,
                            describe(list)
                        ));
                    }
                } else {
                    if invocation.step < latest {
                        verdict.problems.push(format!(
                            "{customer}: step {} first processed after step {latest}; steps: {}",
                            invocation.step,
                            describe(list)
                        ));
                    }
                    firsts.push(invocation.step);
                }
                latest = latest.max(invocation.step);
            }
        }
        verdict
    }

    /// Fails the test listing every problem (and `extra` ones the scenario found), with the
    /// hosts' logs kept in `dir` (`host-<n>.jsonl`) to read; returns when the promise held.
    pub fn assert_held(&self, scenario: &str, extra: &[String], dir: &Path, hosts: &[&[Value]]) {
        let problems: Vec<&String> = self.problems.iter().chain(extra).collect();
        if problems.is_empty() {
            return;
        }
        for (n, lines) in hosts.iter().enumerate() {
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(dir.join(format!("host-{n}.jsonl")), text).unwrap();
        }
        panic!(
            "{scenario}: {} problem(s) (the hosts' logs are in {}):\n{}",
            problems.len(),
            dir.display(),
            problems
                .iter()
                .take(40)
                .map(|p| format!("  - {p}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// A customer's invocations as `step@host`, for failure messages.
fn describe(list: &[Invocation]) -> String {
    list.iter()
        .map(|i| format!("{}@{}", i.step, i.host))
        .collect::<Vec<_>>()
        .join(" ")
}

/// How long after a fault at `at` processing went on: the first invocation after `since`
/// (the fault, or when it was noticed: a step logged between the two was already in
/// flight), and the moment every customer not finished at the fault (its last step `steps`
/// not yet processed) had been processed again; in seconds after `at`. `None` when a
/// customer that was not finished never ran again.
pub fn recovery(hosts: &[&[Value]], at: f64, since: f64, steps: u32) -> Option<(f64, f64)> {
    let mut first = f64::INFINITY;
    let mut all = 0f64;
    for list in invocations(hosts).values() {
        let finished = list.iter().any(|i| i.at <= at && i.step == steps);
        let Some(next) = list.iter().find(|i| i.at > since) else {
            if finished {
                continue;
            }
            return None;
        };
        first = first.min(next.at - at);
        if !finished {
            all = all.max(next.at - at);
        }
    }
    first.is_finite().then_some((first, all))
}

/// When the first line with `message` after `at` was logged, if one was.
pub fn first_after(lines: &[Value], message: &str, at: f64) -> Option<f64> {
    with_message(lines, message).map(log_time).find(|t| *t > at)
}

/// Now, in the logs' clock (seconds since the Unix epoch).
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A log line's `timestamp` (`2026-12-03T10:46:05.980622Z`) in seconds since the Unix epoch.
pub fn log_time(line: &Value) -> f64 {
    let text = line["timestamp"].as_str().unwrap();
    let number = |range: std::ops::Range<usize>| -> i64 { text[range].parse().unwrap() };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    let seconds = number(11..13) * 3600 + number(14..16) * 60 + number(17..19);
    let fraction: f64 = text[19..text.len() - 1].parse::<f64>().unwrap_or(0.0);
    (days_from_civil(year, month, day) * 86_400 + seconds) as f64 + fraction
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
