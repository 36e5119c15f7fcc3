//! The broker under test, as a child process: `host emulator`, with its CPU time and peak
//! memory read from `/proc` ([`usage`]).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::usage::{self, Usage};
use crate::Options;

/// A running `host emulator`.
pub(crate) struct BrokerProcess {
    child: Child,
    /// `host:port` of its AMQP listener.
    pub(crate) address: String,
    /// The connection string it printed.
    pub(crate) connection_string: String,
}

impl BrokerProcess {
    pub(crate) fn start(options: &Options) -> Result<Self, String> {
        let host = match &options.host_bin {
            Some(path) => path.clone(),
            None => sibling("host")?,
        };
        let mut command = Command::new(&host);
        command.args(["emulator", "--port", "0", "--no-admin"]);
        if options.uses_sessions() {
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
            connection_string,
            child,
        })
    }

    pub(crate) fn usage(&self) -> Result<Usage, String> {
        usage::of(self.child.id())
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
