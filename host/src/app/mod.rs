//! The composition root: a function app as one value.
//!
//! [`Host::builder`] gathers what the app brings besides its functions — its state
//! ([`HostBuilder::state`], [`HostBuilder::state_with`]) — and, for tests or embedding, the
//! configuration. [`HostBuilder::build`] starts everything a host needs, in order: resolve
//! the registered functions, check that every `State<T>` they and their hooks take is
//! provided, run the async state set-up, start the ops listener and (for functions without a
//! connection) the embedded broker, and make one client per connection. Built without the
//! `embedded-broker` feature, a function without a connection stops the host at start-up
//! instead (`without_broker.rs`). [`Host::run_until`]
//! then opens a trigger per entity group, seeds the embedded broker, and drains on shutdown.
//!
//! `host start` is a thin caller of it: it parses the command line, loads the files, sets
//! up logging and runs the host the app's `main` built ([`HostBuilder::main`]).

mod builder;
#[cfg(feature = "embedded-broker")]
pub(crate) mod embedded;
#[cfg(not(feature = "embedded-broker"))]
#[path = "without_broker.rs"]
pub(crate) mod embedded;
mod error;
mod host;
mod setup;
mod state_check;

pub(crate) use builder::enabled;
pub use builder::HostBuilder;
pub use error::StartError;
pub(crate) use host::client_options;
pub use host::Host;
pub use setup::{SettingMissing, SetupContext};
