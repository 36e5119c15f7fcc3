//! The `host` command line: `start`, `functions`, `validate`.

mod connection_args;
mod deploy;
#[cfg(feature = "embedded-broker")]
mod emulator;
mod functions;
mod health;
mod keda;
mod load;
mod peek;
mod send;
mod start;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::app::HostBuilder;

pub use deploy::{DeployArgs, DeployTarget, KedaArgs};
pub use functions::{describe, describe_json};
pub use health::{probe, HealthArgs};
pub use keda::{keda_manifest, KedaOptions};
pub use load::{load, Loaded};

/// The Berth function host.
#[derive(Debug, Parser)]
#[command(
    name = "host",
    version,
    about = "Runs Azure Service Bus (session) functions"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The host's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the host: open every enabled function's trigger and process messages until
    /// SIGINT or SIGTERM.
    Start(StartArgs),
    /// List the registered functions with their resolved bindings.
    Functions(FunctionsArgs),
    /// Check host.toml, local.settings.toml and the registrations; exit non-zero with the
    /// reasons when something is wrong.
    Validate(ConfigArgs),
    /// Run the embedded Service-Bus-compatible broker on its own and print its connection
    /// string.
    #[cfg(feature = "embedded-broker")]
    Emulator(emulator::EmulatorArgs),
    /// Send messages to a queue or topic.
    Send(send::SendArgs),
    /// Show messages of a queue, subscription or dead-letter queue without locking them.
    Peek(peek::PeekArgs),
    /// Print deployment manifests generated from the app's bindings (`host deploy keda`).
    Deploy(DeployArgs),
    /// GET the ops listener's /healthz (for a container HEALTHCHECK): exit 0 on 200,
    /// 1 otherwise with the reason.
    Health(HealthArgs),
}

/// Where the configuration files are.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The host settings file (Azure Functions' host.json).
    #[arg(long, value_name = "FILE", env = "BERTH_CONFIG")]
    pub config: Option<PathBuf>,
    /// The app settings file: connection strings and `%Setting%` values (Azure Functions'
    /// local.settings.json). Environment variables override its values.
    #[arg(long, value_name = "FILE", env = "BERTH_SETTINGS")]
    pub settings: Option<PathBuf>,
}

/// `host start` options.
#[derive(Debug, Clone, Args)]
pub struct StartArgs {
    /// Configuration files.
    #[command(flatten)]
    pub files: ConfigArgs,
    /// Log format, overriding `[logging] format`.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormatArg>,
    /// Start only these functions (comma-separated names).
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub functions: Vec<String>,
}

/// `host functions` options.
#[derive(Debug, Clone, Args)]
pub struct FunctionsArgs {
    /// Configuration files.
    #[command(flatten)]
    pub files: ConfigArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// A log format given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable.
    Pretty,
    /// JSON lines.
    Json,
}

/// Parses the command line and runs the command.
pub fn run() -> ExitCode {
    run_with(HostBuilder::new())
}

/// Parses the command line and runs the command; `host start` runs the host `builder`
/// describes, `host validate` checks the state its functions take.
pub fn run_with(builder: HostBuilder) -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Start(args) => start::run(args, builder),
        Command::Functions(args) => functions::run(args),
        Command::Validate(args) => validate::run(args, &builder),
        #[cfg(feature = "embedded-broker")]
        Command::Emulator(args) => emulator::run(args),
        Command::Send(args) => send::run(args),
        Command::Peek(args) => peek::run(args),
        Command::Deploy(args) => deploy::run(args),
        Command::Health(args) => health::run(args),
    }
}

/// A `--timeout` value: a duration (`500ms`, `3s`, `1m`) greater than zero.
fn parse_timeout(text: &str) -> Result<Duration, String> {
    match crate::config::parse_duration(text) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err("the timeout must be greater than zero".to_owned()),
        Err(e) => Err(e.to_string()),
    }
}
