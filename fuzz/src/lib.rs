//! Harnesses shared by the fuzz targets in `fuzz_targets/` and the seed generator
//! (`src/bin/seeds.rs`). See FUZZING.md for how they are run.
#![allow(clippy::unwrap_used)] // frame builders of a harness, on values it makes itself

pub mod broker;
pub mod script;
pub mod seeds;

/// The emulator tests' hand-driven AMQP client: the performative builders are shared with
/// the harnesses (the client itself is unused here).
#[allow(dead_code)]
#[path = "../../emulator/tests/amqp_support/raw.rs"]
pub mod raw;
