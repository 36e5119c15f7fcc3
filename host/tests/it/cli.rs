//! The `host` binary as a user runs it.
#![allow(clippy::unwrap_used)]

use std::process::{Command, ExitStatus};
use std::time::Duration;

use crate::wait;

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host"))
}

/// Runs `command`, checks it succeeded (failing with its stderr) and returns its stdout.
fn stdout_of(command: &mut Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_points_at_the_broken_line_and_fails() {
    let config = temp_file(
        "broken-host.toml",
        "shutdown_timeout = \"30s\"\n\n[service_bus]\nmax_concurrent_sessions = \"eight\"\n",
    );
    let out = host()
        .arg("validate")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("broken-host.toml:4:"), "{stderr}");
    assert!(
        stderr.contains("max_concurrent_sessions = \"eight\""),
        "{stderr}"
    );
}

#[test]
fn an_explicit_missing_file_is_an_error() {
    let out = host()
        .args(["validate", "--config", "/nonexistent/host.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("file not found"));
}

#[test]
fn functions_json_lists_nothing_for_the_bare_host() {
    let out = host().args(["functions", "--json"]).output().unwrap();
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list, serde_json::json!([]));
}

#[test]
fn validate_names_a_bad_environment_variable_and_fails() {
    let out = host()
        .arg("validate")
        .env("BERTH__service_bus__max_concurent_sessions", "16")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "environment variable BERTH__service_bus__max_concurent_sessions: unknown field"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `max_concurrent_sessions`?"),
        "{stderr}"
    );
}

#[test]
fn validate_accepts_host_settings_from_the_environment() {
    let out = host()
        .arg("validate")
        .env("BERTH__SERVICE_BUS__MAX_CONCURRENT_SESSIONS", "16")
        .env("BERTH__logging__format", "json")
        .env("BERTH__shutdown_timeout", "10s")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn deploy_keda_without_enabled_functions_says_there_is_nothing_to_scale() {
    let out = host()
        .args(["deploy", "keda", "--deployment", "orders-app"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no enabled function"), "{stderr}");
}

#[test]
fn environment_variables_that_are_not_utf8_are_ignored_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    stdout_of(
        host()
            .arg("validate")
            .env("BERTH_TEST_NOT_UTF8", not_utf8)
            .env(not_utf8, "x"),
    );
}

/// A child process, killed when the test ends (also when it fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `host emulator` on `port` (0: any) with a queue `orders` kept in `data`, and its
/// connection string (the first line it prints).
fn emulator(port: u16, data: &std::path::Path) -> (Killed, String) {
    emulator_with(&[], port, data)
}

/// Like [`emulator`], with `extra` arguments.
fn emulator_with(extra: &[&str], port: u16, data: &std::path::Path) -> (Killed, String) {
    use std::io::BufRead;
    let mut child = host()
        .args(["emulator", "--no-admin", "--queue", "orders", "--port"])
        .arg(port.to_string())
        .args(extra)
        .arg("--data-dir")
        .arg(data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let child = Killed(child);
    assert!(
        line.starts_with("Endpoint=sb://"),
        "the emulator printed {line:?}"
    );
    (child, line.trim().to_owned())
}

/// The message ids `host peek` shows, at most `count`.
fn peeked_ids(cs: &str, count: usize) -> Vec<String> {
    let out = stdout_of(
        host()
            .args([
                "peek",
                "--json",
                "--queue",
                "orders",
                "--connection-string",
                cs,
            ])
            .args(["--count", &count.to_string(), "--max-body", "0"]),
    );
    let list: serde_json::Value = serde_json::from_slice(&out).unwrap();
    list.as_array()
        .unwrap()
        .iter()
        .map(|m| m["message_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Polls `child` until it exits; panics naming `what` after `limit`.
fn wait_exit(child: &mut std::process::Child, what: &str, limit: Duration) -> ExitStatus {
    let what = format!("{what} to exit");
    wait::poll_blocking(&what, limit, || child.try_wait().unwrap().ok_or("running"))
}

/// Messages `host send` is asked to send in the tests that stop the broker mid-way.
const TOTAL: usize = 200_000;

/// `host send` of [`TOTAL`] messages `m-1`, `m-2`, … to `orders`, with `--timeout`.
fn send_many(cs: &str, timeout: &str) -> Killed {
    let mut command = host();
    command
        .args([
            "send",
            "--queue",
            "orders",
            "--body",
            "x",
            "--message-id",
            "m",
        ])
        .args(["--count", &TOTAL.to_string(), "--timeout", timeout])
        .args(["--connection-string", cs])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    Killed(command.spawn().unwrap())
}

/// Waits (polling `peek`, at most a minute) until the first message is in, and checks the
/// send is still going.
fn wait_for_the_first_message(cs: &str, send: &mut Killed) {
    wait::poll_blocking(
        "the first message",
        Duration::from_secs(60),
        || match peeked_ids(cs, 1).is_empty() {
            true => Err("an empty queue"),
            false => Ok(()),
        },
    );
    assert!(
        send.0.try_wait().unwrap().is_none(),
        "the send finished before the broker was stopped: raise TOTAL"
    );
}

/// Waits for the send to fail; returns the count it says the broker confirmed, and its
/// stderr.
fn failed_send(send: &mut Killed) -> (usize, String) {
    let status = wait_exit(&mut send.0, "host send", Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut send.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let confirmed: usize = stderr
        .split("the broker confirmed ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no confirmed count in {stderr:?}"));
    assert!(
        stderr.contains(&format!("confirmed {confirmed} of {TOTAL} messages")),
        "{stderr}"
    );
    assert!(confirmed < TOTAL, "{stderr}");
    (confirmed, stderr)
}

/// Checks that the broker at `cs` has every one of the first `confirmed` messages.
fn assert_none_lost(cs: &str, confirmed: usize) {
    let ids: std::collections::HashSet<String> =
        peeked_ids(cs, confirmed + 1_000).into_iter().collect();
    let lost: Vec<usize> = (1..=confirmed)
        .filter(|n| !ids.contains(&format!("m-{n}")))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of the {confirmed} confirmed messages are missing, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
}

/// A fresh directory for one test.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn send_fails_with_the_confirmed_count_when_the_broker_dies_and_loses_none_of_them() {
    let dir = fresh_dir("send-kill");
    let data = dir.join("data");
    let (broker, cs) = emulator(0, &data);
    let port: u16 = cs
        .split(';')
        .next()
        .and_then(|endpoint| endpoint.rsplit(':').next())
        .and_then(|port| port.trim_end_matches('/').parse().ok())
        .unwrap();
    let mut send = send_many(&cs, "10s");
    wait_for_the_first_message(&cs, &mut send);
    // `kill -9` of the broker.
    drop(broker);
    let (confirmed, stderr) = failed_send(&mut send);
    assert!(stderr.contains("was lost"), "{stderr}");

    // Every message it called confirmed is there after a restart on the same data.
    let (broker, cs) = emulator(port, &data);
    assert_none_lost(&cs, confirmed);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn send_gives_up_at_its_timeout_when_the_broker_stops_answering() {
    let dir = fresh_dir("send-stall");
    let (broker, cs) = emulator(0, &dir.join("data"));
    let mut send = send_many(&cs, "2s");
    wait_for_the_first_message(&cs, &mut send);
    // Freeze the broker: the connection stays open and nothing answers.
    let signal = |name: &str| {
        let pid = broker.0.id().to_string();
        assert!(Command::new("kill")
            .args([name, &pid])
            .status()
            .unwrap()
            .success());
    };
    signal("-STOP");
    let (confirmed, stderr) = failed_send(&mut send);
    assert!(stderr.contains("within the send timeout"), "{stderr}");
    signal("-CONT");
    assert_none_lost(&cs, confirmed);
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `host emulator` with `args`, its stdout and stderr piped.
fn spawn_emulator(args: &[&str]) -> Killed {
    let child = host()
        .args(["emulator", "--port", "0"])
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    Killed(child)
}

fn stderr_of(child: &mut Killed) -> String {
    use std::io::Read;
    let mut text = String::new();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn emulator_on_a_network_address_without_rules_is_refused_with_the_fix() {
    let mut child = spawn_emulator(&["--host", "0.0.0.0", "--admin-port", "0"]);
    let status = wait_exit(
        &mut child.0,
        "host emulator --host 0.0.0.0",
        Duration::from_secs(30),
    );
    assert!(!status.success());
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains("refusing to serve the AMQP listener on 0.0.0.0:0")
            && stderr.contains("--sas-rule NAME=KEY")
            && stderr.contains("--allow-anonymous"),
        "{stderr}"
    );

    let mut bad = spawn_emulator(&["--sas-rule", "reader=k3y:Read"]);
    let status = wait_exit(
        &mut bad.0,
        "host emulator --sas-rule …:Read",
        Duration::from_secs(30),
    );
    assert!(!status.success());
    let stderr = stderr_of(&mut bad);
    assert!(stderr.contains("unknown right `Read`"), "{stderr}");
}

#[test]
fn emulator_with_allow_anonymous_starts_on_a_network_address_and_warns() {
    use std::io::BufRead;
    let mut child = spawn_emulator(&[
        "--host",
        "0.0.0.0",
        "--admin-port",
        "0",
        "--allow-anonymous",
    ]);
    let mut line = String::new();
    std::io::BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("Endpoint=sb://"),
        "the emulator printed {line:?}"
    );
    child.0.kill().unwrap();
    let stderr = stderr_of(&mut child);
    assert!(
        stderr.contains("WARN")
            && stderr.contains("ANONYMOUS ACCESS")
            && stderr.contains("0.0.0.0"),
        "{stderr}"
    );
}

#[test]
fn emulator_max_connections_refuses_the_next_connection_with_an_amqp_error() {
    use std::io::{Read, Write};
    let dir = fresh_dir("max-connections");
    let (_broker, cs) = emulator_with(&["--max-connections", "1"], 0, &dir.join("data"));
    let address = cs
        .trim_start_matches("Endpoint=sb://")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    // The AMQP header and an `open` with container id "x", by hand.
    let mut hello = b"AMQP\x00\x01\x00\x00".to_vec();
    hello.extend([
        0, 0, 0, 17, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0xc0, 4, 1, 0xa1, 1, b'x',
    ]);
    let mut first = std::net::TcpStream::connect(&address).unwrap();
    first.write_all(&hello).unwrap();
    let mut header = [0u8; 8];
    first.read_exact(&mut header).unwrap();
    let mut second = std::net::TcpStream::connect(&address).unwrap();
    second
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    second.write_all(&hello).unwrap();
    let mut answer = Vec::new();
    // Header, open, close(error), then the broker drops the socket.
    let _ = second.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(text.contains("amqp:resource-limit-exceeded"), "{text:?}");
    assert!(
        text.contains("at most 1 concurrent connections"),
        "{text:?}"
    );
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}
