//! The broker under test, as a child process: `host emulator`, with its CPU time and peak
//! memory read from `/proc`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::Options;

/// A running `host emulator`.
pub(crate) struct BrokerProcess {
    child: Child,
    /// `host:port` of its AMQP listener.
    pub(crate) address: String,
}

/// CPU time and peak memory of the broker so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    pub(crate) cpu: Duration,
    pub(crate) peak_rss_kib: u64,
}

impl BrokerProcess {
    pub(crate) fn start(options: &Options) -> Result<Self, String> {
        let host = match &options.host_bin {
            Some(path) => path.clone(),
            None => sibling("host")?,
        };
        let mut command = Command::new(&host);
        command.args(["emulator", "--port", "0", "--no-admin"]);
        if options.sessions > 0 {
            command.args(["--session-queue", options.queue()]);
        } else {
            command.args(["--queue", options.queue()]);
        }
        if let Some(dir) = &options.data_dir {
            command.arg("--data-dir").arg(dir);
        }
        command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", host.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout from the broker")?;
        let mut lines = BufReader::new(stdout).lines();
        let connection_string = loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("Endpoint=") => break line,
                Some(Ok(_)) => continue,
                _ => {
                    let _ = child.kill();
                    return Err("the broker exited before printing its connection string".into());
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(BrokerProcess {
            address: address_of(&connection_string)?,
            child,
        })
    }

    pub(crate) fn usage(&self) -> Result<Usage, String> {
        let pid = self.child.id();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map_err(|e| format!("cannot read the broker's CPU time: {e}"))?;
        // Fields after the parenthesised command name; utime and stime are 14th and 15th.
        let rest = stat.rsplit(')').next().unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let clock_ticks = 100; // USER_HZ on Linux
        let cpu_ticks = ticks(11) + ticks(12);
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .map_err(|e| format!("cannot read the broker's memory: {e}"))?;
        let peak_rss_kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Usage {
            cpu: Duration::from_millis(cpu_ticks * 1000 / clock_ticks),
            peak_rss_kib,
        })
    }

    pub(crate) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sibling(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().ok_or("no directory for the current binary")?;
    let path = dir.join(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found; build it (cargo build --release -p berth-host) or pass --host-bin",
            path.display()
        ))
    }
}

/// `host:port` from a connection string's `Endpoint=sb://host:port/`.
pub(crate) fn address_of(connection_string: &str) -> Result<String, String> {
    let endpoint = connection_string
        .split(';')
        .find_map(|kv| kv.strip_prefix("Endpoint="))
        .ok_or("the connection string has no Endpoint")?;
    let host = endpoint.trim_start_matches("sb://").trim_end_matches('/');
    Ok(if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5672")
    })
}
