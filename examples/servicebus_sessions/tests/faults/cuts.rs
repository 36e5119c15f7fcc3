//! Connection cuts: the host reaches the broker through the fault proxy, which fragments
//! and delays its writes and cuts the connection 20 times during the run (100 in the soak),
//! each time at once or at a random byte, spread over the run by progress.

use std::time::Duration;

use examples_testkit::{at_least, count, fault_seed, wait, FaultDice, FaultProxy, Shaping};

use super::orders::{wait_until_queue_empty, with_port};
use super::verdict::{first_after, log_time, now, recovery, Verdict};
use super::{address_of, host, reconnect_problem, report, Setup};

#[test]
fn twenty_cuts_during_a_run_lose_nothing_and_keep_each_session_in_order() {
    let setup = Setup::new("faults-cuts", "5s");
    setup.send_all();
    let (load, dir, cs) = (setup.load, setup.dir.clone(), setup.cs.clone());
    let cuts = if load.soak { 100 } else { 20 };

    let seed = fault_seed(20);
    let mut dice = FaultDice::new(seed);
    let proxy = FaultProxy::start(address_of(&cs), seed);
    proxy.shape(Shaping {
        max_chunk: 512,
        delay: Duration::from_micros(100),
    });
    let mut app = host(&dir, &with_port(&cs, proxy.address().port()), "");
    let mut faults = Vec::new();
    for n in 1..=cuts {
        // Spread the cuts over the run: each waits for its share of progress.
        let progress = load.total() * n / (cuts + 1);
        app.wait_for(at_least("session message received", progress));
        app.wait_for(at_least("connected to Service Bus", 1));
        // Right after a cut the client may be between connections; a fault needs one to hit.
        proxy.wait_for_connection(Duration::from_secs(60));
        let before = proxy.cuts();
        if dice.below(2) == 0 {
            proxy.cut_all();
        } else {
            wait::poll_until(
                "an open connection to arm a cut in",
                Duration::from_secs(60),
                || proxy.cut_at_random_point(4096) > 0,
                || "no connection through the proxy",
            );
            proxy.wait_for_cuts(before + 1, Duration::from_secs(60));
        }
        faults.push(now());
    }
    app.wait_for(load.all_processed(&[]));
    wait_until_queue_empty(&cs);
    let lines = app.stop();
    let connects = count(&lines, "connected to Service Bus");
    let verdict = Verdict::check(&load.pairs(1..=load.steps), &[&lines]);

    let reconnected = |at: f64| first_after(&lines, "connected to Service Bus", at).unwrap_or(at);
    let mut firsts: Vec<f64> = faults
        .iter()
        .filter_map(|at| {
            recovery(&[&lines], *at, reconnected(*at), load.steps).map(|(first, _)| first)
        })
        .collect();
    firsts.sort_by(f64::total_cmp);
    let median = firsts.get(firsts.len() / 2).copied().unwrap_or(f64::NAN);
    let worst = firsts.last().copied().unwrap_or(f64::NAN);
    let end = lines.last().map(log_time).unwrap_or(0.0);
    report(
        "connection cuts",
        load,
        &format!(
            "{} cuts (seed {seed}; at once or at a random byte ≤ 4 KiB), writes in ≤ 512-byte pieces 100 µs apart; {connects} connects",
            proxy.cuts()
        ),
        &verdict,
        &format!(
            "first step after a cut: median {median:.2} s, worst {worst:.2} s; run ended {:.1} s after the first cut",
            end - faults[0]
        ),
    );
    let extra: Vec<String> = reconnect_problem(&lines).into_iter().collect();
    verdict.assert_held("connection cuts", &extra, &dir, &[&lines]);
    drop(proxy);
    setup.finish();
}
