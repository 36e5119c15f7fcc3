//! `host start` with its embedded broker on a network address: refused without a SAS rule
//! (the error says how to fix it), and with `[[emulator.sas_rules]]` it starts, the host's
//! own client uses the rule's key, and the seeded orders are processed.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use examples_testkit::{count, temp_dir, with_message, write_file, RunningApp};

fn app() -> Command {
    Command::new(env!("CARGO_BIN_EXE_servicebus_sessions"))
}

#[test]
fn an_open_embedded_broker_on_a_network_address_is_refused() {
    let dir = temp_dir("exposed-broker-refused");
    let config = write_file(&dir, "host.toml", "[emulator]\nhost = \"0.0.0.0\"\n");
    let mut child = app()
        .args(["start", "--log-format", "json", "--config"])
        .arg(config)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`start` with an open broker on 0.0.0.0 did not exit within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    assert_eq!(status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("refusing to serve the AMQP listener on 0.0.0.0")
            && stdout.contains("[[emulator.sas_rules]]")
            && stdout.contains("allow_anonymous = true"),
        "{stdout}"
    );
}

#[test]
fn with_a_sas_rule_it_listens_on_the_network_and_processes_the_seed() {
    let dir = temp_dir("exposed-broker-rule");
    let seed = concat!(env!("CARGO_MANIFEST_DIR"), "/sample-orders.jsonl");
    let config = write_file(
        &dir,
        "host.toml",
        &format!(
            "[service_bus]\nsession_idle_timeout = \"1s\"\n[emulator]\nhost = \"0.0.0.0\"\nport = 0\n\
             [[emulator.sas_rules]]\nname = \"reader\"\nkey = \"reader-key\"\nrights = [\"Listen\"]\n\
             [[emulator.sas_rules]]\nname = \"root\"\nkey = \"root-key\"\n\
             [[emulator.seed]]\nqueue = \"orders-with-sessions\"\nfile = \"{seed}\"\n"
        ),
    );
    let mut command = app();
    command
        .args(["start", "--log-format", "json", "--config"])
        .arg(&config);
    let mut app = RunningApp::spawn(command);
    app.wait_for(|s| count(s, "invocation completed") == 13);
    let started = with_message(app.seen(), "embedded Service Bus broker started (no connection string configured); the SDKs can send to it with this connection string")
        .next()
        .unwrap()
        .clone();
    let cs = started["connection_string"].as_str().unwrap();
    assert!(
        cs.contains("SharedAccessKeyName=root;SharedAccessKey=root-key"),
        "the connection string takes the first rule with Manage: {cs}"
    );
    app.stop();
}
