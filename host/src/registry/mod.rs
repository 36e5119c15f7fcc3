//! From compile-time registrations to runnable functions: apply `host.toml` overrides,
//! resolve `%Setting%` binding expressions, attach session hooks, group the functions by
//! entity (one receiver each), and refuse conflicts before anything starts.

mod groups;
mod hooks;
mod resolve;
mod startup_error;

pub use groups::entity_groups;
pub use resolve::{resolve, ResolvedFunction, ResolvedHook};
pub use startup_error::StartupError;
