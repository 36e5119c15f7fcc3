//! Runs one official-SDK scenario script against an in-process [`Broker`].
//!
//! Each test starts its own broker on `127.0.0.1:0` with the entities the scenario needs and a
//! SAS rule (so a wrong key is really refused), installs the SDKs once per process via
//! `scripts/install-sdks` (a failed install fails the test with the installer's output), runs the
//! script with a bounded timeout and returns the JSON events it printed.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

use berth_emulator::broker::Broker;
use serde_json::Value;

/// The SAS rule every test broker knows; the connection string carries it.
pub const KEY_NAME: &str = "RootManageSharedAccessKey";
/// The key of [`KEY_NAME`].
pub const KEY: &str = "berth-test-key";
/// A second rule with only the Listen right (`SB_LISTEN_CONNECTION_STRING`).
pub const LISTEN_KEY_NAME: &str = "listener";
/// The key of [`LISTEN_KEY_NAME`].
pub const LISTEN_KEY: &str = "berth-listen-key";
/// Upper bound for one scenario script: a hang fails the test instead of blocking CI.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// Which official SDK runs the scenario (`sdk::python` and `sdk::js` each use one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(dead_code)]
pub enum Sdk {
    /// `azure-servicebus` 7.15 (pure-python pyamqp).
    Python,
    /// `@azure/service-bus` 7.9 (rhea).
    Js,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sdk_dir() -> PathBuf {
    std::env::var_os("BERTH_SDK_DIR").map_or_else(|| repo_root().join(".cache/sdk"), PathBuf::from)
}

/// Installs the SDKs once per test process; every caller gets the same outcome.
fn install_sdks() -> Result<(), String> {
    static OUTCOME: OnceLock<Result<(), String>> = OnceLock::new();
    OUTCOME
        .get_or_init(|| {
            let output = std::process::Command::new("bash")
                .arg(repo_root().join("scripts/install-sdks"))
                .output()
                .map_err(|e| format!("could not run scripts/install-sdks: {e}"))?;
            if output.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "scripts/install-sdks failed ({}):\n{}{}",
                    output.status,
                    String::from_utf8_lossy(&output.stdout),
                    String::from_utf8_lossy(&output.stderr)
                ))
            }
        })
        .clone()
}

/// Collects a pipe until it closes.
fn read_all(
    mut pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static,
) -> tokio::task::JoinHandle<Vec<u8>> {
    tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = tokio::io::AsyncReadExt::read_to_end(&mut pipe, &mut out).await;
        out
    })
}

/// What a scenario printed.
#[derive(Debug)]
pub struct Events(pub Vec<Value>);

impl Events {
    /// All events named `name`.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.0.iter().filter(move |e| e["event"] == name)
    }

    /// The only event named `name`.
    pub fn one(&self, name: &str) -> &Value {
        let found: Vec<&Value> = self.0.iter().filter(|e| e["event"] == name).collect();
        assert_eq!(
            found.len(),
            1,
            "expected exactly one {name:?} event in {:#?}",
            self.0
        );
        found[0]
    }
}

/// Starts a broker with `entities` (TOML), runs `scenario` of `sdk` with `env` added, and
/// returns its events after checking it exited 0 and printed `done`.
pub async fn run(sdk: Sdk, scenario: &str, entities: &str, env: &[(&str, &str)]) -> Events {
    // `RUST_LOG=berth_emulator=debug` shows the broker's side of a failing scenario.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    if let Err(message) = tokio::task::spawn_blocking(install_sdks)
        .await
        .expect("installer task")
    {
        panic!(
            "the official SDKs are required for this test and could not be installed:\n{message}"
        );
    }
    let broker = Broker::builder()
        .address("127.0.0.1:0".parse().expect("address"))
        .entities_toml(entities)
        .expect("entities")
        .sas_rule(KEY_NAME, KEY)
        .rule(
            berth_emulator::rights::parse_rule(&format!("{LISTEN_KEY_NAME}={LISTEN_KEY}:Listen"))
                .expect("rule"),
        )
        .start()
        .await
        .expect("broker starts");

    let scripts = repo_root().join("emulator/tests/sdk");
    let mut command = match sdk {
        Sdk::Python => {
            let mut c = tokio::process::Command::new(sdk_dir().join("py/bin/python"));
            c.arg(scripts.join(format!("python/{scenario}.py")));
            c
        }
        Sdk::Js => {
            let mut c = tokio::process::Command::new("node");
            c.arg(scripts.join(format!("js/{scenario}.mjs")));
            c.env("BERTH_SDK_NODE", sdk_dir().join("node"));
            c
        }
    };
    command
        .env("SB_CONNECTION_STRING", broker.connection_string())
        .env(
            "SB_LISTEN_CONNECTION_STRING",
            broker
                .connection_string()
                .replace(KEY_NAME, LISTEN_KEY_NAME)
                .replace(KEY, LISTEN_KEY),
        )
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().expect("scenario script starts");
    let stdout = read_all(child.stdout.take().expect("piped stdout"));
    let stderr = read_all(child.stderr.take().expect("piped stderr"));
    let status = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait()).await;
    if status.is_err() {
        let _ = child.kill().await;
    }
    broker.shutdown().await;
    let output = std::process::Output {
        status: child.wait().await.expect("scenario script status"),
        stdout: stdout.await.expect("stdout reader"),
        stderr: stderr.await.expect("stderr reader"),
    };
    if status.is_err() {
        panic!(
            "{sdk:?} scenario {scenario} did not finish within {SCRIPT_TIMEOUT:?}:\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{sdk:?} scenario {scenario} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        output.status
    );
    let events: Vec<Value> = stdout
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"))
        })
        .collect();
    let events = Events(events);
    assert_eq!(
        events.0.last().map(|e| &e["event"]),
        Some(&Value::from("done")),
        "{sdk:?} {scenario}: {stdout}"
    );
    events
}
