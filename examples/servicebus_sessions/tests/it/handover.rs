//! SIGTERM hands sessions over at once: a host that is told to stop finishes its in-flight
//! invocations, releases its sessions without renewing them, and exits 0; a second host
//! that was waiting takes every session straight away — long before the 5-minute session
//! locks could have run out — and nothing is processed twice (checked in both hosts' JSON
//! logs).
#![allow(clippy::unwrap_used)]

use crate::orders;
use examples_testkit::{count, temp_dir};
use orders::*;

/// Hosts that keep their sessions: minutes of idle time, room for every customer.
const HOLD: &str = "[service_bus]\nsession_idle_timeout = \"10m\"\nmax_concurrent_sessions = 16\n";

/// Steps per customer: enough that the first host is far from done when it is stopped.
const MANY: u32 = 300;

#[test]
fn a_terminated_host_releases_its_sessions_and_a_waiting_host_takes_them_at_once() {
    let dir = temp_dir("handover");
    let broker = broker(&dir, 0, "5m");
    let cs = broker.connection_string.clone();
    send_orders(&dir, &cs, 1..=MANY);
    let total = (CUSTOMERS * MANY) as usize;

    let mut first = host(&dir, &cs, HOLD);
    first.wait_for(|s| count(s, "accepting sessions") == 1);
    // The first host holds every session (5-minute locks, renewed): the second one finds
    // none to accept until the first lets go.
    let mut second = host(&dir, &cs, HOLD);
    second.wait_for(|s| count(s, "accepting sessions") == 1);
    first.wait_for(|s| received(s) >= total / 20);

    let first = first.stop();
    assert!(received(&first) < total, "stopped mid-run");
    second.wait_for(|s| received(&first) + received(s) >= total);
    // The first host drained: what it started it finished and settled, so the second host
    // starts right after it, and nothing is seen twice.
    for (customer, last, two) in hand_over(&first, second.seen(), CUSTOMERS, "first host") {
        assert_eq!(
            two,
            (last + 1..=MANY).collect::<Vec<_>>(),
            "{customer}, second host"
        );
    }
    second.stop();
    assert_queue_empty(&cs);
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
