//! From compile-time registrations to runnable functions: apply `host.toml` overrides,
//! resolve `%Setting%` binding expressions, and refuse conflicts before anything starts.

mod resolve;
mod startup_error;

pub use resolve::{resolve, ResolvedFunction};
pub use startup_error::StartupError;
