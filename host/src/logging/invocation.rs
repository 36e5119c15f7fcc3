//! The `invocation` span: one per message handed to a function, a child of the producer's
//! trace, carrying what every log line inside the invocation should say.
//!
//! Its fields, by the OpenTelemetry messaging semantic conventions (consumer side,
//! operation `process`) and Berth's own short names:
//!
//! | field | value |
//! |---|---|
//! | `function`, `session_id`, `message_id`, `delivery_count`, `sequence_number`, `invocation_id` | Berth's names |
//! | `trace_id`, `span_id`, `parent_span_id` | the W3C trace context ([`berth::TraceContext`]) |
//! | `messaging.system` | `servicebus` |
//! | `messaging.destination.name` | the queue or topic |
//! | `messaging.destination.subscription.name` | the subscription, for topic triggers |
//! | `messaging.operation.name`, `messaging.operation.type` | `process` |
//! | `messaging.message.id` | the message id, when set |
//! | `messaging.servicebus.message.delivery_count` | the delivery count |
//! | `messaging.servicebus.message.enqueued_time` | when the broker accepted it (Unix seconds) |
//!
//! The completion line (`invocation completed`) adds `outcome`, `settlement` (also as
//! `messaging.servicebus.disposition_status`), `confirmed` (whether the broker confirmed
//! that settlement) and `duration_ms`.

use std::time::UNIX_EPOCH;

use berth::{Message, TraceContext};
use tracing::field::{display, Empty};
use tracing::{info_span, Span};

use crate::runtime::{Entity, FunctionSpec};

/// The span an invocation of `function` for `message` runs in, under `trace`. With the
/// OpenTelemetry exporter on, `trace` takes the ids the exporter gave the span.
pub(crate) fn invocation_span(
    function: &FunctionSpec,
    session_id: Option<&str>,
    message: &Message,
    trace: &mut TraceContext,
    invocation_id: &str,
) -> Span {
    let (destination, subscription) = match &function.entity {
        Entity::Queue(queue) => (queue.as_str(), None),
        Entity::Subscription {
            topic,
            subscription,
        } => (topic.as_str(), Some(subscription.as_str())),
    };
    let enqueued_time = message
        .enqueued_time
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let span = info_span!(
        "invocation",
        function = %function.name,
        session_id,
        message_id = message.message_id.as_deref().unwrap_or(""),
        delivery_count = message.delivery_count,
        sequence_number = message.sequence_number,
        invocation_id,
        trace_id = Empty,
        span_id = Empty,
        parent_span_id = trace.parent_span_id.map(display),
        messaging.system = "servicebus",
        messaging.destination.name = destination,
        messaging.destination.subscription.name = subscription,
        messaging.operation.name = "process",
        messaging.operation.type = "process",
        messaging.message.id = message.message_id.as_deref(),
        messaging.servicebus.message.delivery_count = message.delivery_count,
        messaging.servicebus.message.enqueued_time = enqueued_time,
        otel.name = Empty,
        otel.kind = "consumer",
    );
    #[cfg(feature = "otlp")]
    super::otlp::link(&span, trace, destination);
    span.record("trace_id", display(trace.trace_id));
    span.record("span_id", display(trace.span_id));
    span
}
