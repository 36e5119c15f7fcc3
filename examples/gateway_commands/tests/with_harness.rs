//! The gateway instance in the test harness (`berth_host::testing`), with the app's own
//! `host()` (its battery limits read from the app settings at start-up): an instance for
//! `gw-1` handles only gw-1's commands, in order, each through the function of its
//! `MessageType`; an unknown type is dead-lettered with `NoHandlerForMessageType`; other
//! gateways' commands wait; the `MaxSetpointKw` setting decides which setpoints are refused.
#![allow(clippy::unwrap_used)]

use berth_host::message_file;
use berth_host::testing::TestHost;

const QUEUE: &str = "gateway-commands";
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-commands.jsonl");

/// The app as an instance for gw-1 (with `MaxSetpointKw` when given), sent the sample
/// commands, once gw-1's five are settled: four handled, one of an unknown type
/// dead-lettered.
async fn gw_1_given_the_sample(max_setpoint_kw: Option<&str>) -> TestHost {
    let mut builder = TestHost::with(gateway_commands::host()).setting("GatewayId", "gw-1");
    if let Some(kw) = max_setpoint_kw {
        builder = builder.setting("MaxSetpointKw", kw);
    }
    let app = builder.start().await.unwrap();
    app.send_all(QUEUE, message_file::read(SAMPLE.as_ref()).unwrap())
        .await
        .unwrap();
    app.wait_settled(5).await.unwrap();
    app
}

#[tokio::test]
async fn an_instance_handles_its_own_gateway_routed_by_message_type() {
    let mut app = gw_1_given_the_sample(None).await;

    let gw_1: Vec<(String, String, &str)> = app
        .reports()
        .iter()
        .map(|r| {
            let function = r.function.as_deref().unwrap_or("(none)").to_owned();
            let id = r.message_id.clone().unwrap();
            (function, id, r.settlement_name())
        })
        .collect();
    let row = |f: &str, id: &str, s| (f.to_owned(), id.to_owned(), s);
    assert_eq!(
        gw_1,
        [
            row("ping_gateway", "gw-1-c-1", "complete"),
            row("set_battery_setpoint", "gw-1-c-2", "complete"),
            row("refresh_configuration", "gw-1-c-3", "complete"),
            row("(none)", "gw-1-c-4", "dead_letter"),
            row("ping_gateway", "gw-1-c-5", "complete"),
        ]
    );
    let dead = app.dead_letters(QUEUE).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id.as_deref(), Some("gw-1-c-4"));
    assert_eq!(
        dead[0].dead_letter_reason.as_deref(),
        Some("NoHandlerForMessageType")
    );
    // gw-2's and gw-3's commands wait for their own instances.
    let waiting = app.peek(QUEUE).await.unwrap();
    let mut sessions: Vec<&str> = waiting
        .iter()
        .map(|m| m.session_id.as_deref().unwrap())
        .collect();
    sessions.sort_unstable();
    sessions.dedup();
    assert_eq!(sessions, ["gw-2", "gw-3"], "{waiting:#?}");
    assert_eq!(waiting.len(), 5);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn a_setpoint_above_the_configured_limit_is_dead_lettered() {
    let mut app = gw_1_given_the_sample(Some("4")).await;

    let setpoints = app.invocations("set_battery_setpoint", "gw-1");
    assert_eq!(setpoints.message_ids(), ["gw-1-c-2"]);
    let (reason, description) = setpoints[0].dead_letter().unwrap();
    assert_eq!(reason, "SetpointOutOfRange");
    assert_eq!(description, "command c-2: setpoint 5 kW is outside ±4 kW");
    let mut reasons: Vec<String> = app
        .dead_letters(QUEUE)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|m| m.dead_letter_reason)
        .collect();
    reasons.sort();
    assert_eq!(reasons, ["NoHandlerForMessageType", "SetpointOutOfRange"]);
    app.stop().await.unwrap();
}
