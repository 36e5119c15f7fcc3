//! Testing a function app: its functions in the real host, against an in-process broker,
//! from a `#[tokio::test]` (the `testing` feature).
//!
//! [`TestHost`] starts the embedded broker in memory on a free loopback port with the
//! queues, topics and subscriptions the app's triggers read, then the app's registered
//! functions (all, or [`only`](TestHostBuilder::only) some) through the same
//! [`Host`](crate::Host) pipeline `host start` runs — state and state set-ups, retries, the
//! poison policy, session state, settlement. The test sends messages over AMQP as any
//! client would, [waits](TestHost::wait_settled) until they are settled (with a deadline;
//! a failed wait says what it waited for and lists every delivery it saw), and reads what
//! happened: the [invocations](TestHost::invocations) of each session in order (message id,
//! sequence number, delivery count, settlement), the [dead letters](TestHost::dead_letters)
//! with their reasons, the [session state](TestHost::session_state_json), and what the
//! functions [sent](TestHost::peek). It can [stop](TestHost::stop) the host (the broker stays
//! readable) and [restart](TestHost::restart) one on the same broker.
//!
//! ```
//! use berth::prelude::*;
//! use berth_host::testing::{TestHost, TestMessage};
//! use serde_json::json;
//!
//! #[derive(serde::Deserialize)]
//! struct Step { n: u32 }
//!
//! #[service_bus_trigger(queue = "steps", sessions = true)]
//! async fn take_step(Json(step): Json<Step>) -> Result<(), HandlerError> {
//!     if step.n == 0 {
//!         return Err(HandlerError::dead_letter("NoSuchStep", "steps start at 1"));
//!     }
//!     Ok(())
//! }
//!
//! # #[tokio::main] async fn main() -> Result<(), berth_host::testing::TestError> {
//! let mut app = TestHost::start().await?;
//! for (id, n) in [("a", 1), ("b", 0), ("c", 2)] {
//!     app.send_to("steps", TestMessage::json(&json!({ "n": n })).session("s1").id(id)).await?;
//! }
//! app.wait_settled(3).await?;
//!
//! let s1 = app.invocations("take_step", "s1");
//! assert_eq!(s1.message_ids(), ["a", "b", "c"]);
//! assert_eq!(s1.settlements(), ["complete", "dead_letter", "complete"]);
//! let dead = app.dead_letters("steps").await?;
//! assert_eq!(dead[0].dead_letter_reason.as_deref(), Some("NoSuchStep"));
//! app.stop().await?;
//! # Ok(()) }
//! ```
//!
//! What the functions did comes from the host itself: the test host attaches an
//! [`InvocationObserver`](crate::runtime::InvocationObserver) to the pipeline
//! ([`HostBuilder::observer`](crate::HostBuilder::observer)), which reports every delivery
//! it is done with, the same facts as the `invocation completed` log line. What is left in
//! the broker (dead letters, sent messages, session state) is read from the broker.
//!
//! The app's functions must be linked into the test binary: keep them in the app's library
//! (`src/lib.rs`), which `main.rs` and the tests both use.

mod builder;
mod launch;
mod message;
mod record;
mod test_host;

use std::fmt;

pub use builder::{TestHostBuilder, DEFAULT_TIMEOUT};
pub use message::TestMessage;
pub use record::Invocations;
pub use test_host::TestHost;

pub use crate::runtime::{DrainReport, InvocationReport};

/// Why a test host could not start, send, wait or read: the message says what and why.
#[derive(Clone, PartialEq, Eq)]
pub struct TestError(String);

impl TestError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        TestError(message.into())
    }
}

impl fmt::Display for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// As [`Display`](fmt::Display), so a test returning `Result<(), TestError>` prints the
/// message (with its list of deliveries) as written.
impl fmt::Debug for TestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TestError {}
