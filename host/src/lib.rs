//! The Berth host: reads `host.toml` and `local.settings.toml`, finds the functions
//! registered with `#[service_bus_trigger]`, and runs them against Service Bus.
//!
//! An app binary's `main` is one line: `fn main() -> ExitCode { berth_host::main() }`.
#![warn(missing_docs)]

pub mod backoff;
pub mod cli;
pub mod config;
pub mod logging;
pub mod message_file;
pub mod ops;
pub mod registry;
pub mod runtime;
pub mod servicebus;
pub mod shutdown;

use std::process::ExitCode;

/// Runs the `host` command line for the functions registered in this binary.
pub fn main() -> ExitCode {
    cli::run()
}
