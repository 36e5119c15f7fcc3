//! The quickstart app's integration tests, one binary (`cargo test -p servicebus_sessions
//! --test it`): each runs the app as its users do, as a process. The fault-injection suite
//! (`tests/faults/`, also the soak) stays a binary of its own, so that its recovery times
//! are not shared with these tests' processes.
#![allow(clippy::unwrap_used)]

// Shared with `tests/faults/`.
#[path = "../orders/mod.rs"]
mod orders;

mod app_cli;
mod exposed_broker;
mod handover;
mod quickstart;
mod start_unreachable;
mod topology;
mod with_harness;
