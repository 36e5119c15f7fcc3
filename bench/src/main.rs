//! `berth-bench`: send + peek-lock receive + complete on loopback, with and without
//! sessions, against the embedded broker started as a child process (`host emulator`), so
//! the broker's own CPU time and peak memory are measured apart from the load generator.
//!
//! ```text
//! cargo build --release -p berth-host -p berth-bench
//! target/release/berth-bench --sessions 1000 --per-session 100
//! target/release/berth-bench --messages 100000
//! target/release/berth-bench --sessions 1000 --per-session 100 --data-dir /tmp/bench-data
//! target/release/berth-bench --sessions 1000 --per-session 100 --consumers host,python,js
//! target/release/berth-bench --soak-sessions 1000000 --concurrency 64
//! ```
//!
//! With `--consumers`, the same session workload is consumed, on the same broker, by the
//! host's own pumps (in this process) and by the official SDKs' session receivers
//! ([`consumers`]).

mod broker_process;
mod consumers;
mod host_consumer;
mod load;
mod percentiles;
mod report;
mod sdk_consumer;
mod soak;
mod usage;

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
    /// Consume the session workload with these, one after another on the same broker
    /// (host: the host's pumps in this process; python, js: the official SDKs).
    #[arg(long, value_enum, value_delimiter = ',')]
    consumers: Vec<consumers::Consumer>,
    /// Sessions processed at once by each consumer.
    #[arg(long, default_value_t = 32)]
    concurrency: u32,
    /// A consumer leaves a session after this long without a message (ms).
    #[arg(long, default_value_t = 200)]
    idle_ms: u64,
    /// The host's `prefetch_count`.
    #[arg(long, default_value_t = 0)]
    host_prefetch: u32,
    /// Sessions the host holds open at once to measure memory per session (0: skip).
    #[arg(long, default_value_t = 1000)]
    memory_sessions: u32,
    /// Send rate for the host's end-to-end latency (msg/s; 0: skip).
    #[arg(long, default_value_t = 2000)]
    latency_rate: u32,
    /// Sessions the latency messages go round-robin to (all open at once).
    #[arg(long, default_value_t = 100)]
    latency_sessions: u32,
    /// How long the latency phase sends.
    #[arg(long, default_value_t = 10)]
    latency_seconds: u32,
    /// Run the memory soak instead: this many one-message sessions through the host's
    /// pumps, sampling its RSS ([`soak`]; 0: no soak).
    #[arg(long, default_value_t = 0)]
    soak_sessions: u64,
    /// Sample the host's RSS every this many sessions of the soak.
    #[arg(long, default_value_t = 100_000)]
    sample_every: u64,
    /// Fail the soak when RSS grew by more than this many bytes per session between the
    /// first sample and the last.
    #[arg(long)]
    max_growth_bytes_per_session: Option<f64>,
}

impl Options {
    pub(crate) fn total(&self) -> u64 {
        if self.sessions > 0 {
            u64::from(self.sessions) * u64::from(self.per_session)
        } else {
            u64::from(self.messages)
        }
    }

    /// Whether the run uses a session-enabled queue.
    pub(crate) fn uses_sessions(&self) -> bool {
        self.sessions > 0 || self.soak_sessions > 0
    }

    pub(crate) fn queue(&self) -> &'static str {
        if self.uses_sessions() {
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
    if options.soak_sessions > 0 {
        return soak::run(&options).await;
    }
    if !options.consumers.is_empty() {
        return consumers::run(&options).await;
    }
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
