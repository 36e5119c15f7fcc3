//! Two instances of the app on one broker, each owning its own gateway's session: every
//! command reaches only its gateway's instance, in order, through the function of its
//! `MessageType`; an unknown type is dead-lettered; a gateway without an instance keeps its
//! commands.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

use examples_testkit::{count, run_ok, temp_dir, with_message, write_file, Emulator, RunningApp};
use serde_json::Value;

const APP: &str = env!("CARGO_BIN_EXE_gateway_commands");
const SAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-commands.jsonl");

/// An instance for `gateway`, run in `dir` (so no local.settings.toml is picked up).
fn instance(dir: &Path, connection_string: &str, gateway: &str) -> RunningApp {
    let mut command = Command::new(APP);
    command
        .current_dir(dir)
        .args(["start", "--log-format", "json", "--config", "host.toml"])
        .env("ServiceBusConnection", connection_string)
        .env("GatewayId", gateway);
    RunningApp::spawn(command)
}

/// Runs `<app> <args> --connection-string <cs>` and returns its standard output.
fn app_command(args: &[&str], connection_string: &str) -> Vec<u8> {
    let mut command = Command::new(APP);
    command
        .args(args)
        .args(["--connection-string", connection_string]);
    run_ok(command)
}

/// `(session_id, function, message_id, settlement)` of every invocation, in log order.
fn invocations(seen: &[Value]) -> Vec<[String; 4]> {
    with_message(seen, "invocation completed")
        .map(|l| {
            let span = &l["span"];
            [
                span["session_id"].as_str().unwrap().to_owned(),
                span["function"].as_str().unwrap().to_owned(),
                span["message_id"].as_str().unwrap().to_owned(),
                l["settlement"].as_str().unwrap().to_owned(),
            ]
        })
        .collect()
}

fn row(gateway: &str, function: &str, command: &str, settlement: &str) -> [String; 4] {
    [
        gateway.into(),
        function.into(),
        format!("{gateway}-{command}"),
        settlement.into(),
    ]
}

#[test]
fn each_instance_handles_only_its_gateway_routed_by_message_type() {
    let dir = temp_dir("gateway-commands");
    write_file(
        &dir,
        "host.toml",
        "[service_bus]\nsession_idle_timeout = \"1s\"\n",
    );
    let mut emulator = Command::new(APP);
    emulator.args([
        "emulator",
        "--port",
        "0",
        "--session-queue",
        "gateway-commands",
        "--no-admin",
    ]);
    let broker = Emulator::spawn(emulator);
    let cs = broker.connection_string.clone();

    let mut gw_1 = instance(&dir, &cs, "gw-1");
    let mut gw_2 = instance(&dir, &cs, "gw-2");
    app_command(
        &["send", "--queue", "gateway-commands", "--jsonl", SAMPLE],
        &cs,
    );

    // gw-1: four commands handled and one unknown type dead-lettered; gw-2: four handled.
    gw_1.wait_for(|s| {
        count(s, "invocation completed") == 4
            && count(s, "no function takes this message; dead-lettering it") == 1
    });
    gw_2.wait_for(|s| count(s, "invocation completed") == 4);

    assert_eq!(
        invocations(gw_1.seen()),
        [
            row("gw-1", "ping_gateway", "c-1", "complete"),
            row("gw-1", "set_battery_setpoint", "c-2", "complete"),
            row("gw-1", "refresh_configuration", "c-3", "complete"),
            row("gw-1", "ping_gateway", "c-5", "complete"),
        ]
    );
    assert_eq!(
        invocations(gw_2.seen()),
        [
            row("gw-2", "set_battery_setpoint", "c-1", "complete"),
            row("gw-2", "ping_gateway", "c-2", "complete"),
            row("gw-2", "set_battery_setpoint", "c-3", "dead_letter"),
            row("gw-2", "refresh_configuration", "c-4", "complete"),
        ]
    );
    let unrouted = with_message(
        gw_1.seen(),
        "no function takes this message; dead-lettering it",
    )
    .next()
    .unwrap();
    assert_eq!(unrouted["message_id"], "gw-1-c-4");
    assert_eq!(unrouted["reason"], "NoHandlerForMessageType");
    let set = with_message(gw_1.seen(), "battery setpoint set")
        .next()
        .unwrap();
    assert_eq!(
        (&set["gateway"], set["setpoint_kw"].as_f64()),
        (&"gw-1".into(), Some(5.0))
    );

    // The broker's side: the two refused commands are in the dead-letter queue with their
    // reasons, and gw-3's command, which no instance owns, is still waiting.
    let dead: Value = serde_json::from_slice(&app_command(
        &[
            "peek",
            "--queue",
            "gateway-commands",
            "--dead-letter",
            "--json",
        ],
        &cs,
    ))
    .unwrap();
    let mut reasons: Vec<(&str, &str)> = dead
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["message_id"].as_str().unwrap(),
                m["dead_letter_reason"].as_str().unwrap(),
            )
        })
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        [
            ("gw-1-c-4", "NoHandlerForMessageType"),
            ("gw-2-c-3", "SetpointOutOfRange"),
        ]
    );
    let waiting: Value = serde_json::from_slice(&app_command(
        &["peek", "--queue", "gateway-commands", "--json"],
        &cs,
    ))
    .unwrap();
    let waiting: Vec<&Value> = waiting.as_array().unwrap().iter().collect();
    assert_eq!(waiting.len(), 1, "{waiting:#?}");
    assert_eq!(waiting[0]["message_id"], "gw-3-c-1");

    gw_1.stop();
    gw_2.stop();
    broker.stop();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_example_files_validate() {
    let mut validate = Command::new(APP);
    validate.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "validate",
        "--config",
        "host.toml",
        "--settings",
        "local.settings.toml",
    ]);
    run_ok(validate);
}

#[test]
fn an_invalid_battery_limit_stops_the_instance_at_start_up() {
    let dir = temp_dir("gateway-invalid-limit");
    write_file(&dir, "host.toml", "");
    let out = Command::new(APP)
        .current_dir(&dir)
        .args(["start", "--log-format", "json", "--config", "host.toml"])
        .env_remove("ServiceBusConnection")
        .env("GatewayId", "gw-1")
        .env("MaxSetpointKw", "lots")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout
            .contains("setting up the application state `gateway_commands::BatteryLimits` failed")
            && stdout.contains("`MaxSetpointKw` must be a positive number of kW, not `lots`"),
        "{stdout}"
    );
}
