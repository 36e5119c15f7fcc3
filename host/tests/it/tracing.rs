//! Trace context end to end against the embedded broker: a message's `traceparent` becomes
//! the parent of its invocation, every JSON log line of the invocation carries the trace id,
//! a message sent from inside the handler continues the trace into the next function, and
//! the invocation's lines carry the OpenTelemetry messaging field names.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use berth::host::BoxedHandler;
use berth::{HandlerError, Message, TraceContext};
use berth_host::runtime::{Entity, FunctionSpec, TriggerSettings};
use berth_host::servicebus::ServiceBusClient;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::e2e_support;
use crate::servicebus_support;
use crate::wait;
use e2e_support::{session_queue, spec, Trigger};
use servicebus_support::{client, logged, start};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

/// The captured lines whose `message_id` is `id`, parsed (each must be valid JSON).
fn lines_of(id: &str) -> Vec<Value> {
    let text = String::from_utf8(logged().lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .filter(|line| line["message_id"] == id)
        .collect()
}

fn one<'a>(lines: &'a [Value], message: &str) -> &'a Value {
    let found: Vec<&Value> = lines.iter().filter(|l| l["message"] == message).collect();
    assert_eq!(
        found.len(),
        1,
        "one {message:?} line expected in {lines:#?}"
    );
    found[0]
}

/// What the next handler saw; fails after [`wait::LIMIT`].
async fn next(rx: &mut mpsc::UnboundedReceiver<(String, TraceContext)>) -> (String, TraceContext) {
    let next = wait::within("the next handler to run", wait::LIMIT, rx.recv());
    next.await.unwrap()
}

/// A handler that logs a line, reports its trace context, and (when `forward_to` is set)
/// sends a message on from inside the invocation.
fn traced_handler(
    seen: mpsc::UnboundedSender<(String, TraceContext)>,
    forward_to: Option<(ServiceBusClient, &'static str)>,
) -> BoxedHandler {
    BoxedHandler::new(move |trace: TraceContext, message: Message| {
        let (seen, forward_to) = (seen.clone(), forward_to.clone());
        async move {
            tracing::info!("handler ran");
            if let Some((client, queue)) = forward_to {
                let next = Message::with_body("next").session("s").id("chained-1");
                client
                    .sender(queue)
                    .send(&next)
                    .await
                    .map_err(HandlerError::msg)?;
            }
            let _ = seen.send((message.message_id.unwrap_or_default(), trace));
            Ok::<(), HandlerError>(())
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invocation_continues_the_producer_trace_and_passes_it_on() {
    logged();
    let entities = session_queue("first", "PT30S", 5) + &session_queue("second", "PT30S", 5);
    let broker = start(&entities).await;
    let client = client(&broker).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let settings = TriggerSettings::default();
    let first = Trigger::start(
        &client,
        spec(
            "first",
            settings.clone(),
            traced_handler(tx.clone(), Some((client.clone(), "second"))),
        ),
    );
    let second = Trigger::start(&client, spec("second", settings, traced_handler(tx, None)));

    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let sent = Message::with_body("hello")
        .session("s")
        .id("traced-1")
        .property("traceparent", traceparent.as_str())
        .property("tracestate", "vendor=abc");
    client.sender("first").send(&sent).await.unwrap();

    let (id, first_trace) = next(&mut rx).await;
    assert_eq!(id, "traced-1");
    let (id, second_trace) = next(&mut rx).await;
    assert_eq!(id, "chained-1");
    first.stop().await;
    second.stop().await;

    // The handler sees a child of the producer's span.
    assert_eq!(first_trace.trace_id.to_string(), TRACE);
    assert_eq!(first_trace.parent_span_id.unwrap().to_string(), PARENT);
    assert_ne!(first_trace.span_id.to_string(), PARENT);
    assert_eq!(first_trace.trace_state.as_deref(), Some("vendor=abc"));

    // Every line of the invocation carries the trace, and the span ids.
    let lines = lines_of("traced-1");
    assert!(lines.len() >= 2, "{lines:#?}");
    for line in &lines {
        assert_eq!(line["trace_id"], TRACE, "{line}");
        assert_eq!(line["parent_span_id"], PARENT, "{line}");
        assert_eq!(line["span_id"], first_trace.span_id.to_string(), "{line}");
    }
    one(&lines, "handler ran");
    assert_eq!(one(&lines, "invocation completed")["outcome"], "ok");

    // The message sent from the handler carried the trace on: the next invocation is a
    // child of the first one's span, in the same trace.
    assert_eq!(second_trace.trace_id.to_string(), TRACE);
    assert_eq!(second_trace.parent_span_id, Some(first_trace.span_id));
    assert_eq!(second_trace.trace_state.as_deref(), Some("vendor=abc"));
    for line in &lines_of("chained-1") {
        assert_eq!(line["trace_id"], TRACE, "{line}");
        assert_eq!(
            line["parent_span_id"],
            first_trace.span_id.to_string(),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_traceparent_starts_a_new_trace_and_diagnostic_id_is_read() {
    logged();
    let broker = start(&session_queue("plain-trace", "PT30S", 5)).await;
    let client = client(&broker).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let trigger = Trigger::start(
        &client,
        spec(
            "plain-trace",
            TriggerSettings::default(),
            traced_handler(tx, None),
        ),
    );
    let invalid = Message::with_body("x")
        .session("s")
        .id("invalid-1")
        .property("traceparent", format!("00-{}-{PARENT}-01", "0".repeat(32)));
    let diagnostic = Message::with_body("y")
        .session("s")
        .id("diagnostic-1")
        .property("Diagnostic-Id", format!("00-{TRACE}-{PARENT}-01"));
    let sender = client.sender("plain-trace");
    sender.send_batch(&[invalid, diagnostic]).await.unwrap();
    let seen = [next(&mut rx).await, next(&mut rx).await];
    trigger.stop().await;

    let (_, fresh) = seen.iter().find(|(id, _)| id == "invalid-1").unwrap();
    assert_eq!(fresh.parent_span_id, None);
    assert_ne!(fresh.trace_id.0, [0; 16]);
    for line in &lines_of("invalid-1") {
        assert_eq!(line["trace_id"], fresh.trace_id.to_string(), "{line}");
        assert!(line.get("parent_span_id").is_none(), "{line}");
    }
    let (_, child) = seen.iter().find(|(id, _)| id == "diagnostic-1").unwrap();
    assert_eq!(child.trace_id.to_string(), TRACE);
    assert_eq!(child.parent_span_id.unwrap().to_string(), PARENT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocation_lines_carry_the_opentelemetry_messaging_names() {
    logged();
    let broker = start(&session_queue("named", "PT30S", 5)).await;
    let client = client(&broker).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let trigger = Trigger::start(
        &client,
        spec(
            "named",
            TriggerSettings::default(),
            traced_handler(tx, None),
        ),
    );
    let message = Message::with_body("z").session("cust-42").id("named-1");
    client.sender("named").send(&message).await.unwrap();
    next(&mut rx).await;
    trigger.stop().await;

    let lines = lines_of("named-1");
    let done = one(&lines, "invocation completed");
    let expect = [
        ("messaging.system", Value::from("servicebus")),
        ("messaging.destination.name", Value::from("named")),
        ("messaging.operation.name", Value::from("process")),
        ("messaging.operation.type", Value::from("process")),
        ("messaging.message.id", Value::from("named-1")),
        (
            "messaging.servicebus.message.delivery_count",
            Value::from(1),
        ),
        (
            "messaging.servicebus.disposition_status",
            Value::from("complete"),
        ),
        ("session_id", Value::from("cust-42")),
        ("message_id", Value::from("named-1")),
        ("delivery_count", Value::from(1)),
        ("function", Value::from("named-function")),
        ("outcome", Value::from("ok")),
        ("settlement", Value::from("complete")),
        ("confirmed", Value::from(true)),
    ];
    for (name, value) in expect {
        assert_eq!(done[name], value, "{name} in {done}");
    }
    assert!(done["duration_ms"].is_u64(), "{done}");
    assert!(
        done["messaging.servicebus.message.enqueued_time"].is_u64(),
        "{done}"
    );
    let invocation_id = done["invocation_id"].as_str().unwrap();
    assert_eq!(invocation_id.len(), 16, "{done}");
    assert_eq!(done["trace_id"].as_str().unwrap().len(), 32, "{done}");
    assert_eq!(done["span_id"].as_str().unwrap().len(), 16, "{done}");
    assert_eq!(done["level"], "INFO");
    assert!(done["timestamp"].is_string());
    // Not for topics, and the exporter's controls stay out of the logs.
    assert!(done
        .get("messaging.destination.subscription.name")
        .is_none());
    assert!(done.get("otel.kind").is_none(), "{done}");
    // The innermost span, as earlier versions logged it.
    assert_eq!(done["span"]["name"], "invocation");
    assert_eq!(done["span"]["session_id"], "cust-42");
    // The handler's own line has the same context.
    let handled = one(&lines, "handler ran");
    assert_eq!(handled["invocation_id"], invocation_id);
    assert_eq!(handled["messaging.destination.name"], "named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_invocation_names_its_topic_and_subscription() {
    logged();
    let entities = "[[topics]]\nname = \"events\"\n[[topics.subscriptions]]\nname = \"audit\"\nrequires_session = true\n";
    let broker = start(entities).await;
    let client = client(&broker).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let function = Arc::new(FunctionSpec {
        name: "audit_events".into(),
        entity: Entity::Subscription {
            topic: "events".into(),
            subscription: "audit".into(),
        },
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings: TriggerSettings::default(),
        handler: traced_handler(tx, None),
    });
    let trigger = Trigger::start(&client, function);
    let message = Message::with_body("e").session("s").id("topic-1");
    client.sender("events").send(&message).await.unwrap();
    next(&mut rx).await;
    trigger.stop().await;

    let lines = lines_of("topic-1");
    let done = one(&lines, "invocation completed");
    assert_eq!(done["messaging.destination.name"], "events", "{done}");
    assert_eq!(
        done["messaging.destination.subscription.name"], "audit",
        "{done}"
    );
}
