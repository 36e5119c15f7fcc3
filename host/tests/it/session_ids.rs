//! Accepted session ids: a trigger that owns a fixed set of sessions accepts them by id,
//! cycling through them, instead of accepting the next available session.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::prelude::*;
use berth::{ErrorKind, ServiceBusError};
use berth_host::config::{parse_host_config, AppSettings, HostConfig};
use berth_host::registry::{entity_groups, resolve};
use berth_host::runtime::memory::{MemoryBroker, MemorySession, MemorySessionSource};
use berth_host::runtime::session_pump::SessionEnd;
use berth_host::runtime::{
    Entity, EntityGroup, FunctionSpec, SessionSource, SourceSession, TriggerSettings,
};
use tokio::sync::Notify;

use crate::recipes_support;
use crate::wait;
use recipes_support::{registered, run_sessions_until, startup_errors};

const QUEUE: &str = "gateway";

fn broker() -> MemoryBroker {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_secs(60));
    broker
}

fn group(ids: &[&str], max_concurrent_sessions: u32, log: &Arc<Mutex<Vec<String>>>) -> EntityGroup {
    let log = log.clone();
    let handler = BoxedHandler::new(move |body: String, SessionId(id): SessionId| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("{id}:{body}"));
        }
    });
    let spec = Arc::new(FunctionSpec {
        name: "gateway".into(),
        entity: Entity::Queue(QUEUE.into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings: TriggerSettings {
            session_idle_timeout: Duration::from_millis(20),
            max_concurrent_sessions,
            ..TriggerSettings::default()
        },
        handler,
    });
    let ids = ids.iter().map(|id| id.to_string()).collect();
    EntityGroup::single(spec).with_session_ids(ids)
}

/// The in-memory source, reporting each by-id accept and its outcome.
struct Observed {
    inner: Arc<MemorySessionSource>,
    accepts: Mutex<Vec<(String, Result<(), ErrorKind>)>>,
    changed: Notify,
}

impl Observed {
    fn new(broker: &MemoryBroker) -> Arc<Self> {
        Arc::new(Observed {
            inner: broker.session_source(QUEUE),
            accepts: Mutex::default(),
            changed: Notify::new(),
        })
    }

    /// Waits until `condition` holds on the accepts seen so far.
    /// Waits until `condition` holds on the accepts seen so far; panics naming `what` and
    /// the accepts after [`wait::LIMIT`].
    async fn wait_for(
        &self,
        what: &str,
        condition: impl Fn(&[(String, Result<(), ErrorKind>)]) -> bool,
    ) {
        let until = async {
            loop {
                let notified = self.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if condition(&self.accepts.lock().unwrap()) {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(wait::LIMIT, until).await.is_err() {
            let accepts = self.accepts.lock().unwrap().clone();
            panic!("waited {:?} for {what}; accepts: {accepts:?}", wait::LIMIT);
        }
    }
}

impl SessionSource for Observed {
    type Session = MemorySession;

    async fn accept_next(&self) -> Result<Option<MemorySession>, ServiceBusError> {
        panic!("a trigger with session_ids must not accept the next available session")
    }

    async fn accept_session(
        &self,
        session_id: &str,
    ) -> Result<Option<MemorySession>, ServiceBusError> {
        let result = self.inner.accept_session(session_id).await;
        let outcome = match &result {
            Ok(_) => Ok(()),
            Err(e) => Err(e.kind),
        };
        self.accepts
            .lock()
            .unwrap()
            .push((session_id.to_owned(), outcome));
        self.changed.notify_waiters();
        result
    }
}

#[tokio::test]
async fn the_memory_source_accepts_a_session_by_id_once() {
    let broker = broker();
    let source = broker.session_source(QUEUE);
    let empty = source
        .accept_session("nobody-wrote-here")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(empty.session_id(), "nobody-wrote-here");
    let refused = source
        .accept_session("nobody-wrote-here")
        .await
        .err()
        .unwrap();
    assert_eq!(refused.kind, ErrorKind::SessionCannotBeLocked);
    assert!(
        refused.message.contains("'nobody-wrote-here'"),
        "{}",
        refused.message
    );
    empty.release().await;
    let again = source.accept_session("nobody-wrote-here").await.unwrap();
    assert!(again.is_some());
    broker.close();
    assert!(source.accept_session("other").await.unwrap().is_none());
}

#[tokio::test]
async fn only_the_listed_sessions_are_processed() {
    let broker = broker();
    for s in ["gw-1", "gw-2", "gw-3"] {
        broker.send(QUEUE, Message::with_body("m").session(s));
    }
    let log = Arc::default();
    let source = Observed::new(&broker);
    let group = group(&["gw-1", "gw-3"], 8, &log);
    run_sessions_until(&broker, group, source.clone(), |b| {
        b.completed(QUEUE).len() == 2
    })
    .await;
    let mut seen = log.lock().unwrap().clone();
    seen.sort();
    assert_eq!(seen, ["gw-1:m", "gw-3:m"]);
    assert_eq!(broker.pending(QUEUE), 1, "gw-2 is another instance's");
    assert!(source
        .accepts
        .lock()
        .unwrap()
        .iter()
        .all(|(id, _)| id != "gw-2"));
}

#[tokio::test]
async fn a_session_locked_elsewhere_is_tried_again_until_it_is_free() {
    let broker = broker();
    broker.send(QUEUE, Message::with_body("m").session("gw-1"));
    let elsewhere = broker
        .session_source(QUEUE)
        .accept_session("gw-1")
        .await
        .unwrap()
        .unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let source = Observed::new(&broker);
    let (s, l) = (source.clone(), log.clone());
    let free_it = tokio::spawn(async move {
        s.wait_for("gw-1 to be refused as locked", |accepts| {
            accepts.contains(&("gw-1".to_owned(), Err(ErrorKind::SessionCannotBeLocked)))
        })
        .await;
        let processed_while_held = !l.lock().unwrap().is_empty();
        elsewhere.release().await;
        processed_while_held
    });
    run_sessions_until(&broker, group(&["gw-1"], 8, &log), source, |b| {
        b.completed(QUEUE).len() == 1
    })
    .await;
    assert!(
        !free_it.await.unwrap(),
        "processed while another receiver held it"
    );
    assert_eq!(*log.lock().unwrap(), ["gw-1:m"]);
    assert_eq!(broker.completed(QUEUE)[0].delivery_count, 1);
}

#[tokio::test]
async fn an_idle_session_is_released_and_accepted_again_later() {
    let broker = broker();
    let log = Arc::default();
    let source = Observed::new(&broker);
    let (s, b) = (source.clone(), broker.clone());
    tokio::spawn(async move {
        // Accepted while empty, released after the idle timeout, accepted again.
        s.wait_for("gw-1 to be accepted twice", |accepts| {
            accepts.iter().filter(|(_, r)| r.is_ok()).count() >= 2
        })
        .await;
        b.send(QUEUE, Message::with_body("late").session("gw-1"));
    });
    let summaries = run_sessions_until(&broker, group(&["gw-1"], 8, &log), source, |b| {
        b.completed(QUEUE).len() == 1
    })
    .await;
    assert!(summaries
        .iter()
        .any(|s| s.end == SessionEnd::Idle && s.invocations == 0));
    assert_eq!(*log.lock().unwrap(), ["gw-1:late"]);
}

#[tokio::test]
async fn more_listed_sessions_than_slots_take_turns() {
    let broker = broker();
    for n in 0..3 {
        for s in ["a", "b", "c"] {
            broker.send(QUEUE, Message::with_body(format!("{n}")).session(s));
        }
    }
    let log = Arc::default();
    let source = Observed::new(&broker);
    run_sessions_until(&broker, group(&["a", "b", "c"], 1, &log), source, |b| {
        b.completed(QUEUE).len() == 9
    })
    .await;
    let log = log.lock().unwrap();
    for s in ["a", "b", "c"] {
        let bodies: Vec<&str> = log
            .iter()
            .filter_map(|e| e.strip_prefix(&format!("{s}:")))
            .collect();
        assert_eq!(bodies, ["0", "1", "2"], "session {s}");
    }
}

// ---- start-up ----

#[service_bus_trigger(queue = "gateway", sessions = true, session_ids = ["%GatewayId%", "gw-shared"])]
async fn gateway(_body: String) {}

#[service_bus_trigger(queue = "plain")]
async fn plain(_body: String) {}

#[service_bus_trigger(queue = "routed", sessions = true, message_type = "A", session_ids = ["gw-1"])]
async fn routed_a(_body: String) {}

#[service_bus_trigger(queue = "routed", sessions = true, message_type = "B")]
async fn routed_b(_body: String) {}

fn settings(text: &str) -> AppSettings {
    AppSettings::parse(text, "local.settings.toml").unwrap()
}

fn errors(names: &[&str], config: &HostConfig, app: &AppSettings) -> String {
    startup_errors(&registered(module_path!(), names), &[], config, app)
}

#[test]
fn session_ids_resolve_bindings_and_reach_the_group() {
    let app = settings("[values]\nGatewayId = \"gw-7\"\n");
    let functions = resolve(
        &registered(module_path!(), &["gateway"]),
        &[],
        &HostConfig::default(),
        &app,
    )
    .unwrap();
    assert_eq!(functions[0].session_ids, ["gw-7", "gw-shared"]);
    let groups = entity_groups(&functions, "MessageType").unwrap();
    assert_eq!(groups[0].session_ids, ["gw-7", "gw-shared"]);
    let text = berth_host::cli::describe(&functions[0], "MessageType");
    assert!(text.contains("session_ids: gw-7, gw-shared"), "{text}");
    assert_eq!(
        berth_host::cli::describe_json(&functions[0])["session_ids"],
        serde_json::json!(["gw-7", "gw-shared"])
    );
}

#[test]
fn host_toml_replaces_the_session_ids() {
    let config = parse_host_config(
        "[functions.gateway]\nsession_ids = [\"gw-9\", \"%Other%\"]\n",
        "host.toml",
    )
    .unwrap();
    let app = settings("[values]\nOther = \"gw-10\"\n");
    let functions = resolve(
        &registered(module_path!(), &["gateway"]),
        &[],
        &config,
        &app,
    )
    .unwrap();
    assert_eq!(functions[0].session_ids, ["gw-9", "gw-10"]);
}

#[test]
fn bad_session_ids_are_refused_at_start_up() {
    let text = errors(&["gateway"], &HostConfig::default(), &settings(""));
    assert!(
        text.contains("session id `%GatewayId%`") && text.contains("GatewayId"),
        "{text}"
    );

    let app = settings("[values]\nGatewayId = \"gw-shared\"\n");
    let text = errors(&["gateway"], &HostConfig::default(), &app);
    assert!(
        text.contains("session id `gw-shared` is listed twice"),
        "{text}"
    );

    let config =
        parse_host_config("[functions.plain]\nsession_ids = [\"x\"]\n", "host.toml").unwrap();
    let text = errors(&["plain"], &config, &settings(""));
    assert!(
        text.contains(
            "function `plain`: `session_ids` is set but the trigger is not session-enabled"
        ),
        "{text}"
    );
}

#[test]
fn routed_functions_must_accept_the_same_sessions() {
    let text = errors(
        &["routed_a", "routed_b"],
        &HostConfig::default(),
        &settings(""),
    );
    assert!(
        text.contains("`routed_a` and `routed_b` share queue routed but accept different sessions"),
        "{text}"
    );
    let config = parse_host_config(
        "[functions.routed_b]\nsession_ids = [\"gw-1\"]\n",
        "host.toml",
    )
    .unwrap();
    let functions = resolve(
        &registered(module_path!(), &["routed_a", "routed_b"]),
        &[],
        &config,
        &settings(""),
    )
    .unwrap();
    let groups = entity_groups(&functions, "MessageType").unwrap();
    assert_eq!(groups[0].session_ids, ["gw-1"]);
}
