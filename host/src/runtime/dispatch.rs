//! One invocation: build the arguments, run the handler with panics caught, and report
//! what happened. Settling is the caller's job ([`super::settle`]).

use std::time::Instant;

use berth::host::Outcome;
use berth::trace::TraceScope;
use berth::{
    CancellationToken, Invocation, Message, MessageActions, Rejection, SessionContext, TraceContext,
};

use super::catch_panic::CatchPanic;
use super::function::FunctionSpec;
use super::invoke::Lent;

/// What one invocation came to.
#[derive(Debug)]
pub enum InvocationResult {
    /// An extractor refused the message; the handler never ran.
    Rejected(Rejection),
    /// The handler returned.
    Returned(Outcome),
    /// The handler panicked (the payload's text).
    Panicked(String),
}

/// A started invocation: the handler future (if the arguments could be extracted; it sees
/// the trace context as `TraceContext::current()` while polled), and the actions it may
/// settle through.
pub(crate) struct Started {
    pub(crate) future: Result<TraceScope<CatchPanic<Outcome>>, Rejection>,
    pub(crate) actions: MessageActions,
    pub(crate) started_at: Instant,
}

/// Builds the invocation from what the message's holder lends it and starts the handler,
/// under `trace`.
pub(crate) fn start(
    function: &FunctionSpec,
    message: Message,
    trace: TraceContext,
    lent: Lent,
    cancellation: CancellationToken,
) -> Started {
    let actions = MessageActions::new(lent.message_ops);
    let session = lent.session.map(|(id, ops)| SessionContext::new(id, ops));
    let mut invocation = Invocation::new(
        function.name.clone(),
        message,
        session,
        actions.clone(),
        cancellation,
    )
    .with_trace(trace.clone())
    .with_app_state(lent.app_state);
    if let Some(slot) = lent.state {
        invocation = invocation.with_state_slot(slot);
    }
    Started {
        future: function
            .handler
            .call(&invocation)
            .map(|future| trace.scope(CatchPanic::new(future))),
        actions,
        started_at: Instant::now(),
    }
}

/// A fresh invocation id (for logs): 16 hex digits, unique within this process run.
pub(crate) fn invocation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let seed = std::process::id() as u64;
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}", (seed << 40) ^ n)
}
