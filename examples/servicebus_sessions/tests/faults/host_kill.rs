//! Host `kill -9` in the middle of its sessions: a second host takes the sessions over
//! (after their 5 s locks run out) and finishes them; nothing is lost and the only message
//! seen twice is the one each session had in flight. (This was `crash.rs`'s host test.)

use examples_testkit::at_least;

use super::orders::{self, hand_over, received};
use super::verdict::{now, recovery, Verdict};
use super::{host, report, seconds, Setup};

#[test]
fn a_killed_host_loses_nothing_and_repeats_only_its_in_flight_messages() {
    let setup = Setup::new("faults-host-kill", "5s");
    setup.send_all();
    let (load, dir, cs) = (setup.load, setup.dir.clone(), setup.cs.clone());

    let mut first = host(&dir, &cs, "");
    first.wait_for(at_least("session message received", load.total() / 4));
    first.kill();
    let killed_at = now();
    let first = first.seen().to_vec();
    assert!(received(&first) < load.total(), "killed mid-run");

    let mut second = host(&dir, &cs, "");
    second.wait_for(load.all_processed(&[&first]));
    let mut repeated = 0;
    for (customer, last, two) in hand_over(&first, second.seen(), load.customers, "before the kill")
    {
        // The second host starts where the first stopped: with the message the first one had
        // in flight (seen again), or with the next one.
        let start = two.first().copied().unwrap_or(load.steps + 1);
        assert!(
            start == last || start == last + 1,
            "{customer}: the first host saw 1..={last}, the second started at {start}"
        );
        assert_eq!(
            two,
            (start..=load.steps).collect::<Vec<_>>(),
            "{customer} after the kill"
        );
        repeated += usize::from(start == last && last > 0);
    }
    orders::wait_until_queue_empty(&cs);
    let second = second.stop();
    let verdict = Verdict::check(&load.pairs(1..=load.steps), &[&first, &second]);
    report(
        "host kill -9",
        load,
        &format!(
            "1 kill -9 after {} steps; a second host finished ({repeated} in-flight steps repeated)",
            received(&first)
        ),
        &verdict,
        &seconds(recovery(&[&first, &second], killed_at, killed_at, load.steps)),
    );
    verdict.assert_held("host kill -9", &[], &dir, &[&first, &second]);
    setup.finish();
}
