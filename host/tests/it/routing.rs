//! Polymorphic session queues: several functions on one entity, one receiver, each message
//! routed by its message-type property, in session order; the start-up checks that guard it.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::prelude::*;
use berth_host::config::{parse_host_config, AppSettings, HostConfig};
use berth_host::registry::{entity_groups, resolve};
use berth_host::runtime::memory::MemoryBroker;
use berth_host::runtime::router::NO_HANDLER_REASON;
use berth_host::runtime::{
    message_pump, Entity, EntityGroup, FunctionSpec, Routes, TriggerSettings,
};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::recipes_support;
use recipes_support::{registered, run_sessions_until, startup_errors};

const QUEUE: &str = "gateway";

fn spec(name: &str, sessions: bool, handler: BoxedHandler) -> Arc<FunctionSpec> {
    Arc::new(FunctionSpec {
        name: name.into(),
        entity: Entity::Queue(QUEUE.into()),
        connection: "ServiceBusConnection".into(),
        sessions,
        settings: TriggerSettings {
            session_idle_timeout: Duration::from_millis(20),
            ..TriggerSettings::default()
        },
        handler,
    })
}

/// A handler that appends `<name>:<body>` to `log`.
fn recording(name: &'static str, log: &Arc<Mutex<Vec<String>>>) -> BoxedHandler {
    let log = log.clone();
    BoxedHandler::new(move |body: String| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("{name}:{body}"));
        }
    })
}

fn typed(session: Option<&str>, message_type: Option<&str>, body: &str) -> Message {
    let mut message = Message::with_body(body.to_owned());
    if let Some(session) = session {
        message = message.session(session);
    }
    match message_type {
        Some(t) => message.property("MessageType", t),
        None => message,
    }
}

fn broker() -> MemoryBroker {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_secs(60));
    broker
}

/// Records the `function` field of every `invocation` span.
#[derive(Clone, Default)]
struct InvocationSpans(Arc<Mutex<Vec<String>>>);

struct FunctionField<'a>(&'a mut Option<String>);

impl Visit for FunctionField<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "function" {
            *self.0 = Some(format!("{value:?}"));
        }
    }
}

impl<S: tracing::Subscriber> Layer<S> for InvocationSpans {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        if attrs.metadata().name() == "invocation" {
            let mut function = None;
            attrs.record(&mut FunctionField(&mut function));
            self.0.lock().unwrap().extend(function);
        }
    }
}

#[tokio::test]
async fn one_receiver_routes_each_message_in_session_order_and_dead_letters_unknown_types() {
    let spans = InvocationSpans::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let broker = broker();
    let sends = [
        (Some("PingGatewayRequest"), "p1"),
        (Some("StatusRequest"), "s1"),
        (Some("RebootRequest"), "r1"),
        (None, "untyped"),
        (Some("PingGatewayRequest"), "p2"),
    ];
    for (message_type, body) in sends {
        broker.send(QUEUE, typed(Some("gw-1"), message_type, body));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let group = EntityGroup::by_message_type(
        "MessageType",
        vec![
            (
                "PingGatewayRequest".into(),
                spec("ping", true, recording("ping", &log)),
            ),
            (
                "StatusRequest".into(),
                spec("status", true, recording("status", &log)),
            ),
        ],
    )
    .unwrap();
    let summaries = run_sessions_until(&broker, group, broker.session_source(QUEUE), |b| {
        b.completed(QUEUE).len() == 3 && b.dead_letters(QUEUE).len() == 2
    })
    .await;

    assert_eq!(*log.lock().unwrap(), ["ping:p1", "status:s1", "ping:p2"]);
    let completed: Vec<_> = broker
        .completed(QUEUE)
        .iter()
        .map(|m| m.body_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        completed,
        ["p1", "s1", "p2"],
        "session order across functions"
    );
    let dead = broker.dead_letters(QUEUE);
    assert_eq!(dead[0].message.body_str(), Some("r1"));
    assert_eq!(dead[0].reason, NO_HANDLER_REASON);
    assert_eq!(
        dead[0].description,
        "no function handles message type `RebootRequest` on queue gateway; known types: \
         `PingGatewayRequest`, `StatusRequest`"
    );
    assert_eq!(dead[1].message.body_str(), Some("untyped"));
    assert!(
        dead[1]
            .description
            .starts_with("the message has no `MessageType` application property"),
        "{}",
        dead[1].description
    );
    assert_eq!(summaries.iter().map(|s| s.unrouted).sum::<u64>(), 2);
    assert_eq!(summaries.iter().map(|s| s.invocations).sum::<u64>(), 3);
    assert_eq!(
        *spans.0.lock().unwrap(),
        ["ping", "status", "ping"],
        "each invocation span names the routed function"
    );
}

#[tokio::test]
async fn each_routed_function_keeps_its_own_auto_complete() {
    let broker = broker();
    broker.send(QUEUE, typed(Some("gw-1"), Some("A"), "a"));
    broker.send(QUEUE, typed(Some("gw-1"), Some("B"), "b"));
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut manual = (*spec("manual", true, recording("manual", &log))).clone();
    manual.settings.auto_complete = false;
    let deferring = BoxedHandler::new(|actions: MessageActions| async move {
        actions.defer(Default::default()).await?;
        Ok::<_, HandlerError>(())
    });
    manual.handler = deferring;
    let group = EntityGroup::by_message_type(
        "MessageType",
        vec![
            ("A".into(), spec("auto", true, recording("auto", &log))),
            ("B".into(), Arc::new(manual)),
        ],
    )
    .unwrap();
    run_sessions_until(&broker, group, broker.session_source(QUEUE), |b| {
        b.completed(QUEUE).len() == 1 && b.deferred(QUEUE).len() == 1
    })
    .await;
    assert_eq!(broker.completed(QUEUE)[0].body_str(), Some("a"));
    assert_eq!(broker.deferred(QUEUE)[0].body_str(), Some("b"));
}

#[tokio::test]
async fn a_non_session_entity_routes_too() {
    let broker = broker();
    for (message_type, body) in [("A", "a"), ("C", "c"), ("B", "b")] {
        broker.send(QUEUE, typed(None, Some(message_type), body));
    }
    let log = Arc::new(Mutex::new(Vec::new()));
    let group = EntityGroup::by_message_type(
        "MessageType",
        vec![
            ("A".into(), spec("a", false, recording("a", &log))),
            ("B".into(), spec("b", false, recording("b", &log))),
        ],
    )
    .unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(message_pump::run_group(
        Arc::new(group),
        broker.message_source(QUEUE),
        shutdown.clone(),
    ));
    broker
        .wait_until("two completions and one dead letter", |b| {
            b.completed(QUEUE).len() == 2 && b.dead_letters(QUEUE).len() == 1
        })
        .await;
    shutdown.cancel();
    assert_eq!(task.await.unwrap(), 2);
    let mut seen = log.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["a:a", "b:b"]);
    assert_eq!(broker.dead_letters(QUEUE)[0].reason, NO_HANDLER_REASON);
}

#[test]
fn a_group_refuses_conflicting_functions() {
    let handler = || BoxedHandler::new(|| async {});
    let duplicate = EntityGroup::by_message_type(
        "MessageType",
        vec![
            ("A".into(), spec("one", true, handler())),
            ("A".into(), spec("two", true, handler())),
        ],
    )
    .unwrap_err();
    assert_eq!(duplicate.routes, [0, 1]);
    assert!(
        duplicate.message.contains("both handle message type `A`"),
        "{}",
        duplicate.message
    );

    let mut other = (*spec("two", true, handler())).clone();
    other.settings.session_idle_timeout = Duration::from_secs(9);
    let settings = EntityGroup::by_message_type(
        "MessageType",
        vec![
            ("A".into(), spec("one", true, handler())),
            ("B".into(), Arc::new(other)),
        ],
    )
    .unwrap_err();
    assert!(
        settings
            .message
            .contains("disagree on `session_idle_timeout` (20ms and 9s)"),
        "{}",
        settings.message
    );
}

// ---- start-up ----

#[service_bus_trigger(
    queue = "gateway-requests",
    sessions = true,
    message_type = "PingGatewayRequest"
)]
async fn ping(_body: String) {}

#[service_bus_trigger(
    queue = "Gateway-Requests",
    sessions = true,
    message_type = "%StatusType%"
)]
async fn status(_body: String) {}

#[service_bus_trigger(
    queue = "gateway-requests",
    sessions = true,
    message_type = "PingGatewayRequest",
    name = "ping_again"
)]
async fn ping_again(_body: String) {}

#[service_bus_trigger(queue = "gateway-requests", sessions = true)]
async fn everything(_body: String) {}

#[service_bus_trigger(queue = "gateway-requests", message_type = "Plain")]
async fn plain(_body: String) {}

fn settings() -> AppSettings {
    AppSettings::parse(
        "[values]\nStatusType = \"StatusRequest\"\n",
        "local.settings.toml",
    )
    .unwrap()
}

fn errors_for(names: &[&str], config: &HostConfig) -> String {
    startup_errors(&registered(module_path!(), names), &[], config, &settings())
}

#[test]
fn routed_functions_on_one_entity_resolve_into_one_group() {
    let config = parse_host_config(
        "[service_bus]\nmessage_type_property = \"Kind\"\nmax_concurrent_sessions = 3\n",
        "host.toml",
    )
    .unwrap();
    let functions = resolve(
        &registered(module_path!(), &["ping", "status"]),
        &[],
        &config,
        &settings(),
    )
    .unwrap();
    assert_eq!(functions[1].message_type.as_deref(), Some("StatusRequest"));
    let groups = entity_groups(&functions, &config.service_bus.message_type_property).unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(&*groups[0].name, "ping, status");
    assert_eq!(groups[0].settings.max_concurrent_sessions, 3);
    let Routes::ByMessageType(routes) = &groups[0].routes else {
        panic!("expected routing by message type");
    };
    assert_eq!(routes.property(), "Kind");
    let types: Vec<_> = routes
        .routes()
        .iter()
        .map(|(t, f)| (t.as_str(), &*f.name))
        .collect();
    assert_eq!(
        types,
        [("PingGatewayRequest", "ping"), ("StatusRequest", "status")]
    );
}

#[test]
fn the_same_message_type_twice_is_refused_naming_both_functions() {
    let text = errors_for(&["ping", "ping_again"], &HostConfig::default());
    assert!(
        text.contains("`ping` and `ping_again` both handle message type `PingGatewayRequest`"),
        "{text}"
    );
    assert_eq!(text.matches("routing.rs:").count(), 2, "{text}");
}

#[test]
fn mixing_routed_and_unrouted_functions_is_refused() {
    let text = errors_for(&["ping", "everything"], &HostConfig::default());
    assert!(
        text.contains(
            "mix routing by message type (`ping`) with taking every message (`everything`)"
        ),
        "{text}"
    );
    assert_eq!(text.matches("routing.rs:").count(), 2, "{text}");
}

#[test]
fn routed_functions_must_agree_on_sessions() {
    let text = errors_for(&["ping", "plain"], &HostConfig::default());
    assert!(
        text.contains("disagree on `sessions` (true and false)"),
        "{text}"
    );
    assert!(
        text.contains("routing::ping") && text.contains("routing::plain"),
        "{text}"
    );
}

#[test]
fn routed_functions_must_agree_on_receiver_settings() {
    let config = parse_host_config(
        "[functions.status]\nmax_concurrent_sessions = 2\n",
        "host.toml",
    )
    .unwrap();
    let text = errors_for(&["ping", "status"], &config);
    assert!(
        text.contains("`ping` and `status` share queue gateway-requests but disagree on `max_concurrent_sessions` (8 and 2)"),
        "{text}"
    );
    assert!(
        text.contains("[service_bus]"),
        "the hint names the fix: {text}"
    );
    // Per-message settings stay each function's own.
    let config =
        parse_host_config("[functions.status]\nauto_complete = false\n", "host.toml").unwrap();
    assert!(resolve(
        &registered(module_path!(), &["ping", "status"]),
        &[],
        &config,
        &settings()
    )
    .is_ok());
}

#[test]
fn a_disabled_function_leaves_the_entity_to_the_others() {
    let config = parse_host_config("[functions.ping]\ndisabled = true\n", "host.toml").unwrap();
    let functions = resolve(
        &registered(module_path!(), &["everything", "ping"]),
        &[],
        &config,
        &settings(),
    )
    .unwrap();
    let groups = entity_groups(&functions, "MessageType").unwrap();
    assert_eq!(groups.len(), 1);
    assert!(matches!(&groups[0].routes, Routes::One(f) if &*f.name == "everything"));
}
