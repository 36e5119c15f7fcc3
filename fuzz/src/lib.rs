//! Harnesses shared by the fuzz targets in `fuzz_targets/` and the seed generator
//! (`src/bin/seeds.rs`). See FUZZING.md for how they are run.
#![allow(clippy::unwrap_used)] // frame builders of a harness, on values it makes itself

pub mod broker;
pub mod script;
pub mod seeds;
pub mod sql;

/// The emulator tests' hand-driven AMQP client: the performative builders are shared with
/// the harnesses (the client itself is unused here).
#[allow(dead_code)]
#[path = "../../emulator/tests/it/amqp_support/raw.rs"]
pub mod raw;

/// The emulator tests' deadline helper, which `raw` uses (unused here).
#[allow(dead_code)]
#[path = "../../emulator/tests/it/wait.rs"]
mod wait;

/// Lets panics that our code catches stay caught. The broker and the host contain panics of
/// `serde_amqp` on hostile bytes (`berth_emulator::amqp::decode_untrusted`), but libFuzzer's
/// panic hook aborts on every panic, caught or not. Targets that reach serde_amqp call this
/// first: it puts the default hook back, and libfuzzer-sys still aborts (a finding) on any
/// panic that escapes the target.
pub fn allow_contained_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
}
