//! The runtime core: from an accepted session to settled messages.
//!
//! Read in the order a message travels: [`source`] (where sessions and messages come from)
//! → [`acceptor`] (accept sessions, bounded by `max_concurrent_sessions`; any session, or
//! only the group's `session_ids`) → [`session_pump`] (one session: receive → [`router`]
//! (which function takes the message) → dispatch → settle, strictly one at a time) →
//! [`dispatch`] (span, panic catch, extractor rejections) → [`settle`] (what outcome becomes
//! which settlement). Non-session triggers take [`message_pump`] instead of the session
//! pump; both hand each message to [`invoke`] (retry, poison policy, state write-back,
//! settlement), holding it their own way, and tell the group's [`observe::Observer`] what
//! became of it. [`memory`] is an in-memory source for tests.

pub mod acceptor;
mod catch_panic;
pub mod dispatch;
pub mod function;
pub mod host;
pub mod invoke;
pub mod memory;
pub mod message_pump;
mod mismatch;
pub mod observe;
mod requests;
pub mod router;
pub mod session_pump;
pub mod settle;
pub mod source;

pub use function::{Entity, FunctionSpec, PoisonPolicy, RetryPolicy, TriggerSettings};
pub use host::{DrainReport, TriggerSet};
pub use observe::{InvocationObserver, InvocationReport, Observer};
pub use router::{EntityGroup, GroupConflict, Routes, SessionHook, SessionHooks};
pub use source::{
    DeliveryToken, MessageSource, Received, ReceiverSettings, SessionSource, SourceSession,
};
