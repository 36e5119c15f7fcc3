//! The official SDKs' session receivers on the same workload: `bench/sdk/receive_sessions.py`
//! (azure-servicebus, asyncio) and `bench/sdk/receive_sessions.mjs` (@azure/service-bus),
//! installed in `.cache/sdk` by `scripts/install-sdks`. Each script accepts next-available
//! sessions with `--concurrency` receivers, receives batches of up to 100, completes every
//! message, leaves a session after `--idle-ms` without a message, and prints what it measured
//! about itself (wall time and its own CPU time over the consuming, not the start-up).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::Options;

/// The SDK a consumer runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sdk {
    Python,
    Js,
}

impl Sdk {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Sdk::Python => "Python azure-servicebus",
            Sdk::Js => "JS @azure/service-bus",
        }
    }
}

/// What a script reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SdkRun {
    pub(crate) messages: u64,
    pub(crate) elapsed: Duration,
    pub(crate) cpu: Duration,
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sdk_dir() -> PathBuf {
    std::env::var_os("BERTH_SDK_DIR").map_or_else(|| repo_root().join(".cache/sdk"), PathBuf::from)
}

/// Consumes the workload (already sent) with `sdk`'s session receiver.
pub(crate) fn run(sdk: Sdk, options: &Options, connection_string: &str) -> Result<SdkRun, String> {
    let scripts = repo_root().join("bench/sdk");
    let mut command = match sdk {
        Sdk::Python => {
            let python = sdk_dir().join("py/bin/python");
            if !python.exists() {
                return Err(format!(
                    "{} not found: run scripts/install-sdks first",
                    python.display()
                ));
            }
            let mut c = Command::new(python);
            c.arg(scripts.join("receive_sessions.py"));
            c
        }
        Sdk::Js => {
            let mut c = Command::new("node");
            c.arg(scripts.join("receive_sessions.mjs"))
                .env("BERTH_SDK_NODE", sdk_dir().join("node"));
            c
        }
    };
    command
        .env("SB_CONNECTION_STRING", connection_string)
        .env("SB_QUEUE", options.queue())
        .env("TOTAL", options.total().to_string())
        .env("CONCURRENCY", options.concurrency.to_string())
        .env("IDLE_MS", options.idle_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start the {} consumer: {e}", sdk.name()))?;
    let started = Instant::now();
    let mut stdout = child.stdout.take().ok_or("no stdout from the consumer")?;
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    // Bounded: a hung consumer fails the run instead of blocking it.
    let limit = Duration::from_secs(1800);
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            return Err(format!(
                "the {} consumer did not finish within {limit:?}",
                sdk.name()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(format!(
            "the {} consumer failed ({status}):\n{out}",
            sdk.name()
        ));
    }
    let last: Value = out
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| format!("the {} consumer printed no result:\n{out}", sdk.name()))?;
    let number = |key: &str| {
        last[key].as_f64().ok_or_else(|| {
            format!(
                "the {} consumer's result has no `{key}`: {last}",
                sdk.name()
            )
        })
    };
    Ok(SdkRun {
        messages: number("messages")? as u64,
        elapsed: Duration::from_secs_f64(number("elapsed_s")?),
        cpu: Duration::from_secs_f64(number("cpu_s")?),
    })
}
