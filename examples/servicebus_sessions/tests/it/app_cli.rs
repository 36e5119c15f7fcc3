//! The example app's command line: what `functions` and `validate` say about it.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn app() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

#[test]
fn functions_lists_the_session_function_with_its_queue() {
    let out = app().arg("functions").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("process_session_message"), "{text}");
    assert!(text.contains("queue orders-with-sessions"), "{text}");
    assert!(text.contains("sessions:    true"), "{text}");
}

#[test]
fn functions_json_has_the_resolved_binding() {
    let out = app().args(["functions", "--json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list[0]["name"], "process_session_message");
    assert_eq!(list[0]["queue"], "orders-with-sessions");
    assert_eq!(list[0]["sessions"], true);
    assert_eq!(list[0]["connection"], "ServiceBusConnection");
}

#[test]
fn the_documented_example_files_validate_against_the_app() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = app()
        .arg("validate")
        .arg("--config")
        .arg(format!("{root}/host.toml.example"))
        .arg("--settings")
        .arg(format!("{root}/local.settings.toml.example"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
