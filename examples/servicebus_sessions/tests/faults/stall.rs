//! A black hole: the proxy stops forwarding on the host's connection but keeps its sockets
//! open, so no error ever arrives. The host's AMQP idle timeout (2 s here) must declare the
//! connection dead and replace it.

use examples_testkit::{at_least, fault_seed, FaultProxy};

use super::orders::{wait_until_queue_empty, with_port};
use super::verdict::{first_after, now, recovery, Verdict};
use super::{address_of, host, report, seconds, Setup};

const LOST: &str = "the connection to Service Bus was lost; reconnecting";

#[test]
fn a_black_holed_connection_is_found_by_the_idle_timeout_and_replaced() {
    let setup = Setup::new("faults-stall", "5s");
    setup.send_all();
    let (load, dir, cs) = (setup.load, setup.dir.clone(), setup.cs.clone());

    let proxy = FaultProxy::start(address_of(&cs), fault_seed(2));
    let mut app = host(
        &dir,
        &with_port(&cs, proxy.address().port()),
        "connection_idle_timeout = \"2s\"\n",
    );
    app.wait_for(at_least("session message received", load.total() / 3));
    let stalled = proxy.stall_all();
    let at = now();
    assert_eq!(stalled, 1, "the host has one connection");
    // The host finds out by itself: nothing is cut, nothing is refused.
    app.wait_for(at_least("connected to Service Bus", 2));
    app.wait_for(load.all_processed(&[]));
    wait_until_queue_empty(&cs);
    let lines = app.stop();
    assert_eq!(proxy.cuts(), 0, "the proxy cut nothing");
    let detected = first_after(&lines, LOST, at).map(|t| t - at);
    let reconnected = first_after(&lines, "connected to Service Bus", at).map(|t| t - at);
    let verdict = Verdict::check(&load.pairs(1..=load.steps), &[&lines]);
    report(
        "black hole",
        load,
        "1 connection stalled for good (sockets open), connection_idle_timeout 2 s",
        &verdict,
        &format!(
            "declared dead after {}, reconnected after {}; {}",
            detected.map_or("-".into(), |d| format!("{d:.2} s")),
            reconnected.map_or("-".into(), |d| format!("{d:.2} s")),
            seconds(recovery(
                &[&lines],
                at,
                at + reconnected.unwrap_or(0.0),
                load.steps
            ))
        ),
    );
    let mut extra = Vec::new();
    if detected.is_none() {
        extra.push(format!("the host never logged `{LOST}` after the stall"));
    }
    verdict.assert_held("black hole", &extra, &dir, &[&lines]);
    drop(proxy);
    setup.finish();
}
