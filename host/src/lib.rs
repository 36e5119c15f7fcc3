//! The Berth host: reads `host.toml` and `local.settings.toml`, finds the functions
//! registered with `#[service_bus_trigger]`, and runs them against Service Bus.
//!
//! An app binary's `main` is one line: `fn main() -> ExitCode { berth_host::main() }`; an app
//! that gives its functions state (a pool, a client, parsed configuration) builds its
//! [`Host`] instead: `Host::builder().state(config).state_with(connect_pool).main()`.
#![warn(missing_docs)]

pub mod app;
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
#[cfg(feature = "testing")]
pub mod testing;

use std::process::ExitCode;

pub use app::{Host, HostBuilder, SettingMissing, SetupContext, StartError};

/// Runs the `host` command line for the functions registered in this binary, with no
/// application state (an app with state calls `Host::builder().state(…).main()`).
pub fn main() -> ExitCode {
    Host::builder().main()
}
