//! Crashes, end to end, with the app binary against an external durable broker (the app's own
//! `emulator` command, as `host emulator` runs it, with 5 s locks):
//!
//! * `kill -9` of a host in the middle of its sessions: a second host takes the sessions over
//!   and finishes them; nothing is lost and the only message seen twice is the one each
//!   session had in flight (checked in the hosts' JSON logs).
//! * `kill -9` of the broker, restarted on the same port and data directory: the host
//!   reconnects by itself and finishes every message, in order per customer.
#![allow(clippy::unwrap_used)]

mod orders;
use examples_testkit::{count, temp_dir};
use orders::*;

/// The crash tests' hosts release idle sessions after a second.
const IDLE_1S: &str = "[service_bus]\nsession_idle_timeout = \"1s\"\n";

#[test]
fn a_killed_host_loses_nothing_and_repeats_only_its_in_flight_messages() {
    let dir = temp_dir("crash-host");
    let broker = broker(&dir, 0, "5s");
    let cs = broker.connection_string.clone();
    send_orders(&dir, &cs, 1..=STEPS);

    let mut first = host(&dir, &cs, IDLE_1S);
    first.wait_for(|s| received(s) >= TOTAL / 4);
    first.kill();
    let first = first.seen().to_vec();
    assert!(received(&first) < TOTAL, "killed mid-run");

    let mut second = host(&dir, &cs, IDLE_1S);
    second.wait_for(|s| all_seen(&[&first, s]));
    let mut repeated = 0;
    for (customer, last, two) in hand_over(&first, second.seen(), "before the kill") {
        // The second host starts where the first stopped: with the message the first one had
        // in flight (seen again), or with the next one.
        let start = two.first().copied().unwrap_or(STEPS + 1);
        assert!(
            start == last || start == last + 1,
            "{customer}: the first host saw 1..={last}, the second started at {start}"
        );
        assert_eq!(
            two,
            (start..=STEPS).collect::<Vec<_>>(),
            "{customer} after the kill"
        );
        repeated += usize::from(start == last && last > 0);
    }
    eprintln!(
        "first host: {} steps; second host: {} steps, {repeated} of them repeated",
        received(&first),
        received(second.seen())
    );
    second.stop();
    assert_queue_empty(&cs);
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_host_reconnects_after_the_broker_is_killed_and_finishes_in_order() {
    let dir = temp_dir("crash-broker");
    let first_broker = broker(&dir, 0, "5s");
    let cs = first_broker.connection_string.clone();
    send_orders(&dir, &cs, 1..=STEPS);

    let mut host = host(&dir, &cs, IDLE_1S);
    host.wait_for(|s| received(s) >= TOTAL / 4);
    drop(first_broker); // SIGKILL
    let before = received(host.seen());
    let broker = broker(&dir, port_of(&cs), "5s");
    assert_eq!(broker.connection_string, cs);
    host.wait_for(|s| all_seen(&[s]));
    assert!(before < TOTAL, "killed mid-run");
    // Messages whose completion the killed broker lost come back; wait until they are done.
    wait_until_queue_empty(&cs);
    let lines = host.stop();
    let connects = count(&lines, "connected to Service Bus");
    assert!(
        connects >= 2,
        "the host must have reconnected ({connects} connects)"
    );
    for (customer, steps) in steps(&lines) {
        // At least once and in order: after the broker's crash, a customer may go back (to
        // messages whose completion the broker had not made durable) but never skips.
        let backs = steps.windows(2).filter(|w| w[1] <= w[0]).count();
        assert!(backs <= 1, "{customer}: {steps:?}");
        assert!(
            steps.windows(2).all(|w| w[1] <= w[0] + 1),
            "{customer} skipped a step: {steps:?}"
        );
        assert_eq!(steps.last(), Some(&STEPS), "{customer}: {steps:?}");
    }
    eprintln!(
        "{before} steps before the broker was killed, {} in all",
        received(&lines)
    );
    assert_queue_empty(&cs);
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
