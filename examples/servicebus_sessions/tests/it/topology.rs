//! Topology preflight on a real (non-embedded) broker: a session trigger whose entity does
//! not require sessions cannot work, and the broker says so when the receiver attaches. The
//! host stops at once with an error naming the function, the entity and the fix, and exits
//! non-zero, instead of retrying forever. (For the embedded broker the host checks before it
//! starts; this is the path a mis-provisioned Azure namespace takes.)
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use examples_testkit::{temp_dir, write_file, Emulator};
use serde_json::Value;

fn app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"))
}

#[test]
fn a_session_trigger_on_an_entity_without_sessions_stops_the_host_with_the_fix() {
    let dir = temp_dir("topology");
    // The queue exists, but without sessions.
    let entities = write_file(
        &dir,
        "entities.toml",
        "[[queues]]\nname = \"orders-with-sessions\"\n",
    );
    let mut command = app();
    command
        .args(["emulator", "--port", "0", "--no-admin", "--config"])
        .arg(entities)
        .env("RUST_LOG", "warn");
    let broker = Emulator::spawn(command);

    let host = app()
        .args(["start", "--log-format", "json", "--config"])
        .arg(write_file(&dir, "host.toml", ""))
        .env("ServiceBusConnection", &broker.connection_string)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = host.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(host.wait_with_output()));
    // A host that retried forever would never exit: fail instead of hanging.
    let out = match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the host did not stop within a minute");
        }
    };
    assert!(!out.status.success(), "the host must exit non-zero");
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let stop = lines
        .iter()
        .find(|l| l["message"] == "the trigger cannot receive from its entity; stopping the host")
        .unwrap_or_else(|| panic!("no topology error in {lines:#?}"));
    assert_eq!(stop["function"], "process_session_message");
    assert_eq!(stop["entity"], "queue orders-with-sessions");
    let fix = stop["fix"].as_str().unwrap();
    assert!(fix.contains("RequiresSession = true"), "{fix}");
    assert!(fix.contains("sessions = false"), "{fix}");
    let stopped = lines
        .iter()
        .find(|l| l["message"] == "host stopped")
        .unwrap();
    assert_eq!(stopped["failed"], 1, "{stopped}");
    broker.stop();
    let _ = std::fs::remove_dir_all(&dir);
}
