//! `berth-bench`: send + peek-lock receive + complete on loopback, with and without
//! sessions, against the embedded broker started as a child process (`host emulator`), so
//! the broker's own CPU time and peak memory are measured apart from the load generator.
//!
//! ```text
//! cargo build --release -p berth-host -p berth-bench
//! target/release/berth-bench --sessions 1000 --per-session 100
//! target/release/berth-bench --messages 100000
//! target/release/berth-bench --sessions 1000 --per-session 100 --data-dir /tmp/bench-data
//! ```

mod broker_process;
mod load;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "berth-bench",
    about = "Benchmarks the embedded Service Bus broker"
)]
pub(crate) struct Options {
    /// Use this broker instead of starting `host emulator` (then no broker CPU/memory).
    #[arg(long)]
    connection_string: Option<String>,
    /// The `host` binary to start the broker with (default: next to this binary).
    #[arg(long)]
    host_bin: Option<PathBuf>,
    /// Run the broker durable in this (fresh) data directory; default in memory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Sessions to spread the messages over (a session-enabled queue).
    #[arg(long, default_value_t = 0)]
    sessions: u32,
    /// Messages per session.
    #[arg(long, default_value_t = 100)]
    per_session: u32,
    /// Messages for the run without sessions (used when --sessions is 0).
    #[arg(long, default_value_t = 100_000)]
    messages: u32,
    /// Sending connections.
    #[arg(long, default_value_t = 4)]
    senders: u32,
    /// Receiving connections (each accepts sessions one after another).
    #[arg(long, default_value_t = 16)]
    receivers: u32,
    /// Unsettled sends in flight per sender.
    #[arg(long, default_value_t = 256)]
    window: usize,
    /// Link credit per receiver.
    #[arg(long, default_value_t = 100)]
    prefetch: u32,
    /// Body size in bytes.
    #[arg(long, default_value_t = 128)]
    body_size: usize,
}

impl Options {
    pub(crate) fn total(&self) -> u64 {
        if self.sessions > 0 {
            u64::from(self.sessions) * u64::from(self.per_session)
        } else {
            u64::from(self.messages)
        }
    }

    pub(crate) fn queue(&self) -> &'static str {
        if self.sessions > 0 {
            "bench-sessions"
        } else {
            "bench"
        }
    }
}

fn main() -> ExitCode {
    let options = Options::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let broker = match &options.connection_string {
        Some(_) => None,
        None => Some(broker_process::BrokerProcess::start(&options)?),
    };
    let address = match (&options.connection_string, &broker) {
        (Some(cs), _) => broker_process::address_of(cs)?,
        (None, Some(b)) => b.address.clone(),
        (None, None) => return Err("no broker".into()),
    };
    let before = broker.as_ref().map(|b| b.usage()).transpose()?;
    let started = Instant::now();
    let send = load::send_all(&options, &address).await?;
    let receive = load::receive_all(&options, &address).await?;
    let elapsed = started.elapsed();
    let after = broker.as_ref().map(|b| b.usage()).transpose()?;
    let result = report::Result {
        options: &options,
        send,
        receive,
        elapsed,
        broker_cpu: before.zip(after).map(|(b, a)| a.cpu - b.cpu),
        broker_peak_rss_kib: after.map(|a| a.peak_rss_kib),
    };
    result.print();
    if let Some(broker) = broker {
        broker.stop();
    }
    Ok(())
}
