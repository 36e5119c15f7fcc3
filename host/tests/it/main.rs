//! berth-host's integration tests, one binary (`cargo test -p berth-host --test it`; one
//! module: `… --test it servicebus_client::`). Each module was a test binary of its own:
//! they share this process, so a test must not rely on being alone in it — functions
//! registered with `#[service_bus_trigger]` are looked up by module
//! ([`recipes_support::registered`]), the one global tracing subscriber is
//! [`servicebus_support::logged`]'s, and nothing sets environment variables.
//!
//! Two files stay binaries of their own: `tests/app_state.rs` builds a `Host` from every
//! function registered in its binary, and `tests/otlp_export.rs` (feature `otlp`) installs
//! the process's exporter from environment variables.
#![allow(clippy::unwrap_used)]

mod e2e_support;
mod identity_support;
mod peek_peer;
mod recipes_support;
mod servicebus_support;
mod tls_support;
mod wait;

mod cli;
mod cli_health;
mod cli_peek;
mod config_golden;
mod deploy_keda;
mod e2e_failures;
mod e2e_locks;
mod e2e_reconnect;
mod e2e_rotation;
mod e2e_sessions;
mod hooks;
mod ops;
mod parking;
mod pump;
mod registry;
mod routing;
mod servicebus_auth;
mod servicebus_client;
mod servicebus_identity;
mod servicebus_locks;
mod servicebus_many_sessions;
mod servicebus_pump;
mod servicebus_reconnect;
mod servicebus_tls_trust;
mod servicebus_verdicts;
mod session_ids;
mod tracing;
