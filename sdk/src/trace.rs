//! Distributed tracing: the W3C trace context a message carries, and the one each
//! invocation runs in.
//!
//! A producer puts its trace context in the message's application properties: `traceparent`
//! (and `tracestate`) as W3C Trace Context defines them, or `Diagnostic-Id`, which the Azure
//! SDKs set (in `traceparent` form, or a legacy hierarchical `Request-Id` such as
//! `|4bf92f3577b34da6a3ce929d0e0e4736.1.`). The host makes each invocation a child of it:
//! same trace id, a fresh span id, the producer's span as parent. A missing or invalid value
//! is ignored and the invocation starts a new trace.
//!
//! Take [`TraceContext`] as a handler argument to see it; while the handler runs,
//! [`TraceContext::current`] returns it too, which is how the host's sender stamps
//! `traceparent` on messages sent from inside an invocation.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::Rejection;
use crate::extract::FromInvocation;
use crate::invocation::Invocation;
use crate::message::ApplicationPropertyMap;

/// The application property holding the W3C `traceparent`.
pub const TRACEPARENT: &str = "traceparent";
/// The application property holding the W3C `tracestate`.
pub const TRACESTATE: &str = "tracestate";
/// The application property the Azure SDKs use for the trace context.
pub const DIAGNOSTIC_ID: &str = "Diagnostic-Id";

/// A 16-byte trace id, shown as 32 lowercase hex digits. Never all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id, shown as 16 lowercase hex digits. Never all zeros.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

impl TraceId {
    /// A random trace id.
    pub fn random() -> Self {
        let (a, b) = (random_u64(), random_u64());
        let mut bytes = [0; 16];
        bytes[..8].copy_from_slice(&a.to_be_bytes());
        bytes[8..].copy_from_slice(&b.to_be_bytes());
        TraceId(bytes)
    }

    /// Parses 32 lowercase hex digits; `None` when malformed or all zeros.
    pub fn parse(hex: &str) -> Option<Self> {
        let mut bytes = [0; 16];
        decode_hex(hex, &mut bytes)?;
        (bytes != [0; 16]).then_some(TraceId(bytes))
    }
}

impl SpanId {
    /// A random span id.
    pub fn random() -> Self {
        SpanId(random_u64().to_be_bytes())
    }

    /// Parses 16 lowercase hex digits; `None` when malformed or all zeros.
    pub fn parse(hex: &str) -> Option<Self> {
        let mut bytes = [0; 8];
        decode_hex(hex, &mut bytes)?;
        (bytes != [0; 8]).then_some(SpanId(bytes))
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// A parsed W3C `traceparent`: the producer's trace, its span, and the trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id.
    pub trace_id: TraceId,
    /// The producer's span (W3C calls it `parent-id`).
    pub parent_id: SpanId,
    /// The trace flags (bit 0: sampled).
    pub flags: u8,
}

impl TraceParent {
    /// Parses a `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`), following W3C Trace
    /// Context: lowercase hex only; version `ff` is invalid; version `00` has exactly four
    /// fields; a later version may add fields after a `-`. `None` when invalid, never a panic.
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let bytes = value.as_bytes();
        if bytes.len() < 55 || bytes[2] != b'-' || bytes[35] != b'-' || bytes[52] != b'-' {
            return None;
        }
        let mut version = [0u8; 1];
        decode_hex(value.get(0..2)?, &mut version)?;
        match version[0] {
            0xff => return None,
            0 if bytes.len() != 55 => return None,
            _ if bytes.len() > 55 && bytes[55] != b'-' => return None,
            _ => {}
        }
        let mut flags = [0u8; 1];
        decode_hex(value.get(53..55)?, &mut flags)?;
        Some(TraceParent {
            trace_id: TraceId::parse(value.get(3..35)?)?,
            parent_id: SpanId::parse(value.get(36..52)?)?,
            flags: flags[0],
        })
    }
}

/// The trace context of one invocation (or any unit of work): the trace it belongs to, its
/// own span, and the span it is a child of, if any. As a handler argument: the invocation's,
/// continuing the trace the message carried (`traceparent` or `Diagnostic-Id`).
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(trace: TraceContext) {
///     // Hand the trace on to a downstream call.
///     let traceparent = trace.traceparent();
///     assert!(traceparent.starts_with("00-"));
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// place(TraceContext::root()).await;
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace id: the producer's, or a new one.
    pub trace_id: TraceId,
    /// This invocation's own span id (fresh for each invocation).
    pub span_id: SpanId,
    /// The producer's span, when the message carried one.
    pub parent_span_id: Option<SpanId>,
    /// The W3C trace flags (bit 0: sampled); a new trace is sampled.
    pub flags: u8,
    /// The W3C `tracestate` that came with the `traceparent`, passed on unchanged.
    pub trace_state: Option<String>,
}

impl TraceContext {
    /// A new trace with no parent.
    pub fn root() -> Self {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            parent_span_id: None,
            flags: 1,
            trace_state: None,
        }
    }

    /// A fresh span that is a child of `parent`.
    pub fn child_of(parent: &TraceParent) -> Self {
        TraceContext {
            trace_id: parent.trace_id,
            span_id: SpanId::random(),
            parent_span_id: Some(parent.parent_id),
            flags: parent.flags,
            trace_state: None,
        }
    }

    /// The context for processing a message with these application properties: a child of
    /// its `traceparent` (with its `tracestate`), else of its `Diagnostic-Id`, else a new
    /// trace. Invalid values are ignored.
    pub fn for_properties(properties: &ApplicationPropertyMap) -> Self {
        let text = |key: &str| properties.get(key).and_then(|v| v.as_str());
        if let Some(parent) = text(TRACEPARENT).and_then(TraceParent::parse) {
            let mut context = TraceContext::child_of(&parent);
            context.trace_state = text(TRACESTATE)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            return context;
        }
        match text(DIAGNOSTIC_ID).map(parse_diagnostic_id) {
            Some(Some(DiagnosticId::TraceParent(parent))) => TraceContext::child_of(&parent),
            Some(Some(DiagnosticId::Legacy(trace_id))) => TraceContext {
                trace_id,
                ..TraceContext::root()
            },
            _ => TraceContext::root(),
        }
    }

    /// This context as a `traceparent` value naming this span as the parent, for messages
    /// sent from inside the invocation.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }

    /// The context of the invocation whose handler is running on this thread right now (set
    /// by the host while it polls the handler), if any. Work the handler spawns onto other
    /// tasks does not see it.
    pub fn current() -> Option<TraceContext> {
        CURRENT.with(|current| current.borrow().clone())
    }

    /// Runs `future` with this context as [`TraceContext::current`] while it is polled.
    pub fn scope<F: Future + Unpin>(self, future: F) -> TraceScope<F> {
        TraceScope {
            context: Some(self),
            inner: future,
        }
    }
}

/// What a `Diagnostic-Id` property held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticId {
    /// A W3C `traceparent` (what current Azure SDKs send).
    TraceParent(TraceParent),
    /// A legacy hierarchical `Request-Id` (`|<root>.<n>.`) whose root is a trace id
    /// (32 hex digits, or a GUID with dashes); it names no parent span.
    Legacy(TraceId),
}

/// Parses a `Diagnostic-Id` value; `None` when it is neither form.
pub fn parse_diagnostic_id(value: &str) -> Option<DiagnosticId> {
    if let Some(parent) = TraceParent::parse(value) {
        return Some(DiagnosticId::TraceParent(parent));
    }
    let rest = value.trim().strip_prefix('|')?;
    let root = rest.split('.').next()?;
    let id = match root.len() {
        32 => TraceId::parse(root)?,
        36 => {
            let dashes = [8, 13, 18, 23];
            if dashes.iter().any(|&i| root.as_bytes()[i] != b'-') {
                return None;
            }
            let mut hex = [0u8; 32];
            let mut n = 0;
            for &b in root.as_bytes().iter().filter(|&&b| b != b'-') {
                *hex.get_mut(n)? = b;
                n += 1;
            }
            TraceId::parse(std::str::from_utf8(&hex[..n]).ok()?)?
        }
        _ => return None,
    };
    Some(DiagnosticId::Legacy(id))
}

/// The trace context of the invocation (see the [module docs](self)).
impl FromInvocation for TraceContext {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(invocation.trace().cloned().unwrap_or_else(|| {
            TraceContext::for_properties(&invocation.message().application_properties)
        }))
    }
}

/// A future run with a [`TraceContext`] as [`TraceContext::current`] (see
/// [`TraceContext::scope`]).
#[derive(Debug)]
pub struct TraceScope<F> {
    context: Option<TraceContext>,
    inner: F,
}

impl<F: Future + Unpin> Future for TraceScope<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = Entered::swap(&mut this.context);
        Pin::new(&mut this.inner).poll(cx)
    }
}

thread_local! {
    static CURRENT: RefCell<Option<TraceContext>> = const { RefCell::new(None) };
    static RANDOM: Cell<u64> = Cell::new(seed());
}

/// Swaps a context into [`CURRENT`] and back out on drop (also when the poll panics).
struct Entered<'a> {
    slot: &'a mut Option<TraceContext>,
}

impl<'a> Entered<'a> {
    fn swap(slot: &'a mut Option<TraceContext>) -> Self {
        CURRENT.with(|current| std::mem::swap(&mut *current.borrow_mut(), slot));
        Entered { slot }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| {
            if let Ok(mut current) = current.try_borrow_mut() {
                std::mem::swap(&mut *current, self.slot);
            }
        });
    }
}

/// A seed from the standard library's per-process random hash keys, the time and the thread.
fn seed() -> u64 {
    use std::hash::BuildHasher;
    let state = std::collections::hash_map::RandomState::new();
    state.hash_one((std::time::SystemTime::now(), std::thread::current().id())) | 1
}

/// The next value of this thread's splitmix64 sequence; never zero.
fn random_u64() -> u64 {
    RANDOM.with(|state| loop {
        let next = state.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
        state.set(next);
        let mut z = next;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        if z != 0 {
            return z;
        }
    })
}

/// Decodes exactly `out.len() * 2` lowercase hex digits.
fn decode_hex(hex: &str, out: &mut [u8]) -> Option<()> {
    let hex = hex.as_bytes();
    if hex.len() != out.len() * 2 {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(())
}

fn nibble(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        _ => None,
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 32];
    for (i, b) in bytes.iter().enumerate().take(16) {
        buf[2 * i] = DIGITS[usize::from(b >> 4)];
        buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
    }
    let len = bytes.len().min(16) * 2;
    f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| fmt::Error)?)
}
