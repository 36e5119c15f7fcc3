//! W3C trace context parsing: `traceparent`, `Diagnostic-Id`, every invalid form, and the
//! context an invocation derives from a message's application properties.
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use berth::trace::{parse_diagnostic_id, DiagnosticId, SpanId, TraceId, TraceParent};
use berth::{Message, TraceContext};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";
const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[test]
fn a_valid_traceparent_parses() {
    let parent = TraceParent::parse(VALID).unwrap();
    assert_eq!(parent.trace_id.to_string(), TRACE);
    assert_eq!(parent.parent_id.to_string(), PARENT);
    assert_eq!(parent.flags, 1);
    let unsampled = TraceParent::parse(&VALID.replace("-01", "-00")).unwrap();
    assert_eq!(unsampled.flags, 0);
}

#[test]
fn a_later_version_may_carry_more_fields() {
    let parent = TraceParent::parse(&format!("cc{}-future", &VALID[2..])).unwrap();
    assert_eq!(parent.trace_id.to_string(), TRACE);
    // But the extra fields must be separated by a dash.
    assert_eq!(TraceParent::parse(&format!("cc{}x", &VALID[2..])), None);
}

#[test]
fn invalid_traceparents_are_ignored() {
    let invalid = [
        // Version ff is forbidden; a version must be hex.
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned(),
        // Version 00 has exactly four fields.
        format!("{VALID}-extra"),
        // All-zero ids.
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01".to_owned(),
        // Bad hex, and uppercase (W3C allows lowercase only).
        "00-4bf92f3577b34da6a3ce929d0e0e473z-00f067aa0ba902b7-01".to_owned(),
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x".to_owned(),
        // Wrong lengths and separators.
        "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01".to_owned(),
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1".to_owned(),
        "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01".to_owned(),
        String::new(),
        "00".to_owned(),
        // Multi-byte characters where hex should be.
        "00-4bf92f3577b34da6a3ce929d0e0e47é-00f067aa0ba902b7-01".to_owned(),
    ];
    for value in invalid {
        assert_eq!(TraceParent::parse(&value), None, "{value:?}");
    }
}

#[test]
fn diagnostic_id_in_traceparent_form_and_legacy_form() {
    assert_eq!(
        parse_diagnostic_id(VALID),
        Some(DiagnosticId::TraceParent(
            TraceParent::parse(VALID).unwrap()
        ))
    );
    let trace = TraceId::parse(TRACE).unwrap();
    assert_eq!(
        parse_diagnostic_id(&format!("|{TRACE}.1.")),
        Some(DiagnosticId::Legacy(trace))
    );
    assert_eq!(
        parse_diagnostic_id("|4bf92f35-77b3-4da6-a3ce-929d0e0e4736.2.1."),
        Some(DiagnosticId::Legacy(trace))
    );
    for invalid in [
        "|a000b421-5d183ab6.1.",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "|00000000000000000000000000000000.1.",
        "|4bf92f35x77b3-4da6-a3ce-929d0e0e4736.1.",
        "|",
        "",
    ] {
        assert_eq!(parse_diagnostic_id(invalid), None, "{invalid:?}");
    }
}

#[test]
fn an_invocation_is_a_child_of_the_message_traceparent() {
    let message = Message::with_body("x")
        .property("traceparent", VALID)
        .property("tracestate", "congo=t61rcWkgMzE")
        .property(
            "Diagnostic-Id",
            "00-11111111111111111111111111111111-2222222222222222-01",
        );
    let context = TraceContext::for_properties(&message.application_properties);
    assert_eq!(context.trace_id.to_string(), TRACE);
    assert_eq!(context.parent_span_id, SpanId::parse(PARENT));
    assert_ne!(context.span_id.to_string(), PARENT);
    assert_eq!(context.trace_state.as_deref(), Some("congo=t61rcWkgMzE"));
    assert_eq!(
        context.traceparent(),
        format!("00-{TRACE}-{}-01", context.span_id)
    );
}

#[test]
fn diagnostic_id_is_used_when_there_is_no_valid_traceparent() {
    let message = Message::with_body("x")
        .property("traceparent", "garbage")
        .property("Diagnostic-Id", VALID);
    let context = TraceContext::for_properties(&message.application_properties);
    assert_eq!(context.trace_id.to_string(), TRACE);
    assert_eq!(context.parent_span_id, SpanId::parse(PARENT));

    let legacy = Message::with_body("x").property("Diagnostic-Id", format!("|{TRACE}.3."));
    let context = TraceContext::for_properties(&legacy.application_properties);
    assert_eq!(context.trace_id.to_string(), TRACE);
    assert_eq!(context.parent_span_id, None);
}

#[test]
fn without_a_valid_parent_a_new_trace_starts() {
    let plain = Message::with_body("x").property("traceparent", 42i64);
    let a = TraceContext::for_properties(&plain.application_properties);
    let b = TraceContext::for_properties(&plain.application_properties);
    assert_eq!(a.parent_span_id, None);
    assert_ne!(a.trace_id, b.trace_id, "each new trace gets its own id");
    assert_ne!(a.trace_id.0, [0; 16]);
    assert_ne!(a.span_id.0, [0; 8]);
    assert_eq!(a.trace_id.to_string().len(), 32);
    assert_eq!(a.span_id.to_string().len(), 16);
    assert!(TraceParent::parse(&a.traceparent()).is_some());
}

#[test]
fn current_is_set_only_while_the_scoped_future_is_polled() {
    struct Peek;
    impl Future for Peek {
        type Output = Option<TraceContext>;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
            Poll::Ready(TraceContext::current())
        }
    }
    let context = TraceContext::root();
    assert_eq!(TraceContext::current(), None);
    let mut scoped = context.clone().scope(Peek);
    let mut cx = Context::from_waker(Waker::noop());
    assert_eq!(
        Pin::new(&mut scoped).poll(&mut cx),
        Poll::Ready(Some(context))
    );
    assert_eq!(TraceContext::current(), None);
}
