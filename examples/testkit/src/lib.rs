//! What the examples' integration tests share: run an app binary as a child process, read
//! its JSON log lines with bounded waits, stop it with SIGTERM and check it exits 0.
//!
//! These are test helpers: they panic (with what was seen so far) when something is not as
//! expected.
#![warn(missing_docs)]
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

mod fault_proxy;
pub mod wait;
pub use fault_proxy::{fault_seed, FaultDice, FaultProxy, Shaping};

/// How long a wait may go without a new log line before the test fails.
const QUIET_LIMIT: Duration = Duration::from_secs(60);

/// How long [`RunningApp::wait_for`] waits in all, however chatty the app (the soak's
/// longest wait is well under a minute).
const WAIT_LIMIT: Duration = Duration::from_secs(300);

/// A running app, started with `start --log-format json`, and the log lines it wrote.
pub struct RunningApp {
    child: Child,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl RunningApp {
    /// Spawns `command` (an app binary with its arguments and environment) with its
    /// standard output piped and read as JSON lines; stderr is inherited.
    pub fn spawn(mut command: Command) -> RunningApp {
        let mut child = command
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    if tx.send(value).is_err() {
                        break;
                    }
                }
            }
        });
        RunningApp {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads log lines until `done` holds on all seen so far; fails when the app goes
    /// quiet for a minute, or logs for five without `done` holding, instead of hanging.
    pub fn wait_for(&mut self, mut done: impl FnMut(&[Value]) -> bool) {
        let deadline = std::time::Instant::now() + WAIT_LIMIT;
        while !done(&self.seen) {
            match self.lines.recv_timeout(QUIET_LIMIT) {
                Ok(line) => self.seen.push(line),
                Err(e) => panic!("the app stopped logging ({e}); saw:\n{:#?}", self.seen),
            }
            if std::time::Instant::now() >= deadline {
                panic!(
                    "waited {WAIT_LIMIT:?} for the app's log to get there, in vain; saw:\n{:#?}",
                    self.seen
                );
            }
        }
    }

    /// The log lines read so far.
    pub fn seen(&self) -> &[Value] {
        &self.seen
    }

    /// The app's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends the app a signal by name (`STOP` freezes it, `CONT` resumes it).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Reads log lines until the app has written nothing for `quiet` (it settled), failing
    /// if that has not happened within `limit`.
    pub fn wait_until_quiet(&mut self, quiet: Duration, limit: Duration) {
        let deadline = std::time::Instant::now() + limit;
        loop {
            match self.lines.recv_timeout(quiet) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Timeout) => return,
                Err(e) => panic!("the app's log ended ({e})"),
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the app kept logging for {limit:?} without a pause of {quiet:?}"
            );
        }
    }

    /// Kills the app with SIGKILL (`kill -9`: no drain, no release) and keeps what it logged
    /// before it died.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        // The reader thread ends at the pipe's end of file, closing the channel.
        while let Ok(line) = self.lines.recv_timeout(QUIET_LIMIT) {
            self.seen.push(line);
        }
    }

    /// Sends SIGTERM, waits for `host stopped`, checks that no invocation was aborted and
    /// that the app exits 0; returns every log line.
    pub fn stop(mut self) -> Vec<Value> {
        terminate(&self.child);
        self.wait_for(|seen| count(seen, "host stopped") == 1);
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "exit status {exit}");
        let stopped = self
            .seen
            .iter()
            .find(|l| l["message"] == "host stopped")
            .unwrap();
        assert_eq!(stopped["aborted"], 0, "{stopped}");
        std::mem::take(&mut self.seen)
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        // A failed test must not leave the app running.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An embedded broker run on its own (`<app> emulator --port 0 …`), with the connection
/// string it printed.
pub struct Emulator {
    child: Child,
    /// The connection string of the broker.
    pub connection_string: String,
}

impl Emulator {
    /// Spawns `command` (`<app> emulator --port 0 …`) and reads the connection string from
    /// the first line of its standard output.
    pub fn spawn(mut command: Command) -> Emulator {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut connection_string = String::new();
        stdout.read_line(&mut connection_string).unwrap();
        let connection_string = connection_string.trim().to_owned();
        assert!(
            connection_string.starts_with("Endpoint=sb://"),
            "the emulator printed {connection_string:?}"
        );
        Emulator {
            child,
            connection_string,
        }
    }

    /// Kills the broker with SIGKILL (`kill -9`: nothing flushed, nothing closed).
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and checks the broker exits 0.
    pub fn stop(mut self) {
        terminate(&self.child);
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "emulator exit status {exit}");
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn terminate(child: &Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// How many log lines have this `message`.
pub fn count(seen: &[Value], message: &str) -> usize {
    seen.iter().filter(|l| l["message"] == message).count()
}

/// A [`RunningApp::wait_for`] condition: at least `n` log lines with this `message`. It
/// reads each line once, so waiting on a long log stays cheap.
pub fn at_least(message: &str, n: usize) -> impl FnMut(&[Value]) -> bool + '_ {
    let (mut read, mut found) = (0, 0);
    move |seen| {
        found += count(&seen[read..], message);
        read = seen.len();
        found >= n
    }
}

/// The log lines with this `message`.
pub fn with_message<'a>(seen: &'a [Value], message: &'a str) -> impl Iterator<Item = &'a Value> {
    seen.iter().filter(move |l| l["message"] == message)
}

/// An empty directory for one test, under the system's temp dir.
pub fn temp_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs `command` to its end, checks it exits 0 (failing with its stderr otherwise) and
/// returns its standard output.
pub fn run_ok(mut command: Command) -> Vec<u8> {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}
