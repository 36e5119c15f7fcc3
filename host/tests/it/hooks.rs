//! Session lifecycle hooks: `session_opened` after the accept and before the first message,
//! `session_closing` before the release (not on lock loss); failures; the start-up checks.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::{BoxedHandler, BoxedHook, HookKind};
use berth::prelude::*;
use berth::DeliveryCount;
use berth_host::config::{AppSettings, HostConfig};
use berth_host::registry::{entity_groups, resolve};
use berth_host::runtime::memory::MemoryBroker;
use berth_host::runtime::session_pump::{SessionEnd, SessionSummary};
use berth_host::runtime::{
    Entity, EntityGroup, FunctionSpec, SessionHook, SessionHooks, TriggerSettings,
};

use crate::recipes_support;
use recipes_support::{registered, run_sessions_until, startup_errors};

const QUEUE: &str = "orders";

type Log = Arc<Mutex<Vec<String>>>;

fn group(handler: BoxedHandler, hooks: SessionHooks) -> EntityGroup {
    let spec = Arc::new(FunctionSpec {
        name: "process".into(),
        entity: Entity::Queue(QUEUE.into()),
        connection: "ServiceBusConnection".into(),
        sessions: true,
        settings: TriggerSettings {
            session_idle_timeout: Duration::from_millis(20),
            ..TriggerSettings::default()
        },
        handler,
    });
    EntityGroup::single(spec).with_hooks(hooks)
}

fn hook(name: &str, hook: BoxedHook) -> Option<SessionHook> {
    Some(SessionHook {
        name: name.into(),
        hook,
    })
}

/// A hook that logs `<what> <session id>` and returns `Ok`.
fn logging_hook(what: &'static str, log: &Log) -> BoxedHook {
    let log = log.clone();
    BoxedHook::new(move |session: SessionContext| {
        let log = log.clone();
        async move {
            log.lock()
                .unwrap()
                .push(format!("{what} {}", session.session_id()));
        }
    })
}

/// A handler that logs `<body> <session id>`.
fn logging_handler(log: &Log) -> BoxedHandler {
    let log = log.clone();
    BoxedHandler::new(move |body: String, SessionId(id): SessionId| {
        let log = log.clone();
        async move {
            log.lock().unwrap().push(format!("{body} {id}"));
        }
    })
}

fn broker() -> MemoryBroker {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_secs(60));
    broker
}

async fn run_until(
    broker: &MemoryBroker,
    group: EntityGroup,
    done: impl FnMut(&MemoryBroker) -> bool,
) -> Vec<SessionSummary> {
    run_sessions_until(broker, group, broker.session_source(QUEUE), done).await
}

#[tokio::test]
async fn hooks_run_around_each_session_and_see_its_state() {
    let broker = broker();
    broker.send(QUEUE, Message::with_body("a").session("s1"));
    broker.send(QUEUE, Message::with_body("b").session("s1"));
    let log: Log = Arc::default();
    let l = log.clone();
    let opened = BoxedHook::new(move |session: SessionContext| {
        let l = l.clone();
        async move {
            l.lock()
                .unwrap()
                .push(format!("opened {}", session.session_id()));
            session.set_state("from-opened").await?;
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    let closing = BoxedHook::new(move |session: SessionContext, _cancel: CancellationToken| {
        let l = l.clone();
        async move {
            let state = session.get_state().await?.unwrap_or_default();
            l.lock().unwrap().push(format!(
                "closing {} {}",
                session.session_id(),
                String::from_utf8_lossy(&state)
            ));
            session.set_state("from-closing").await?;
            Ok::<_, HandlerError>(())
        }
    });
    let l = log.clone();
    let handler = BoxedHandler::new(move |body: String, session: SessionContext| {
        let l = l.clone();
        async move {
            let state = session.get_state().await?.unwrap_or_default();
            l.lock()
                .unwrap()
                .push(format!("{body} sees {}", String::from_utf8_lossy(&state)));
            Ok::<_, HandlerError>(())
        }
    });
    let hooks = SessionHooks {
        opened: hook("opened", opened),
        closing: hook("closing", closing),
    };
    let summaries = run_until(&broker, group(handler, hooks), |b| {
        b.session_state(QUEUE, "s1").as_deref() == Some(&b"from-closing"[..])
    })
    .await;
    assert_eq!(
        *log.lock().unwrap(),
        [
            "opened s1",
            "a sees from-opened",
            "b sees from-opened",
            "closing s1 from-opened"
        ]
    );
    assert_eq!(summaries[0].end, SessionEnd::Idle);
    assert_eq!(broker.completed(QUEUE).len(), 2);
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Seen {
    opened_by: String,
    messages: u32,
}

#[tokio::test]
async fn typed_state_is_loaded_after_the_opened_hook() {
    let broker = broker();
    broker.send(QUEUE, Message::with_body("x").session("s1"));
    let opened = BoxedHook::new(|session: SessionContext| async move {
        session
            .set_state(r#"{"opened_by":"hook","messages":0}"#)
            .await?;
        Ok::<_, HandlerError>(())
    });
    let handler = BoxedHandler::new(|mut seen: SessionState<Seen>| async move {
        seen.messages += 1;
    });
    let hooks = SessionHooks {
        opened: hook("opened", opened),
        closing: None,
    };
    run_until(&broker, group(handler, hooks), |b| {
        b.completed(QUEUE).len() == 1
    })
    .await;
    let seen: Seen = serde_json::from_slice(&broker.session_state(QUEUE, "s1").unwrap()).unwrap();
    assert_eq!((seen.opened_by.as_str(), seen.messages), ("hook", 1));
}

#[tokio::test]
async fn a_failing_opened_hook_releases_the_session_unprocessed_until_it_succeeds() {
    let broker = broker();
    broker.send(QUEUE, Message::with_body("a").session("s1"));
    let log: Log = Arc::default();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let opened = BoxedHook::new(move || {
        let c = c.clone();
        async move {
            match c.fetch_add(1, Ordering::SeqCst) {
                0 => Err(HandlerError::msg("configuration not loaded yet")),
                1 => panic!("still not ready"),
                _ => Ok(()),
            }
        }
    });
    let hooks = SessionHooks {
        opened: hook("opened", opened),
        closing: hook("closing", logging_hook("closing", &log)),
    };
    let l = log.clone();
    let handler = BoxedHandler::new(move |body: String, DeliveryCount(count): DeliveryCount| {
        let l = l.clone();
        async move {
            l.lock().unwrap().push(format!("{body}{count}"));
        }
    });
    let summaries = run_until(&broker, group(handler, hooks), |b| {
        b.completed(QUEUE).len() == 1
    })
    .await;
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let ends: Vec<&SessionEnd> = summaries.iter().map(|s| &s.end).collect();
    assert_eq!(
        ends[..2],
        [
            &SessionEnd::OpenHookFailed("configuration not loaded yet".into()),
            &SessionEnd::OpenHookFailed("panic: still not ready".into()),
        ]
    );
    assert!(summaries[..2].iter().all(|s| s.invocations == 0));
    // Released, not abandoned: the message's first delivery is the one that ran. The closing
    // hook ran only for the session that opened (ended by the shutdown).
    assert_eq!(*log.lock().unwrap(), ["a1", "closing s1"]);
}

#[tokio::test]
async fn a_failing_closing_hook_is_logged_and_the_session_released_anyway() {
    let broker = broker();
    broker.send(QUEUE, Message::with_body("a").session("s1"));
    let log: Log = Arc::default();
    let b = broker.clone();
    let closings = Arc::new(AtomicUsize::new(0));
    let c = closings.clone();
    let closing = BoxedHook::new(move || {
        let (b, c) = (b.clone(), c.clone());
        async move {
            if c.fetch_add(1, Ordering::SeqCst) == 0 {
                // Only if the session is released despite the failure can this be received.
                b.send(QUEUE, Message::with_body("b").session("s1"));
            }
            Err::<(), _>(HandlerError::msg("cannot flush"))
        }
    });
    let hooks = SessionHooks {
        opened: None,
        closing: hook("closing", closing),
    };
    let summaries = run_until(&broker, group(logging_handler(&log), hooks), |b| {
        b.completed(QUEUE).len() == 2
    })
    .await;
    assert_eq!(*log.lock().unwrap(), ["a s1", "b s1"]);
    assert_eq!(summaries[0].end, SessionEnd::Idle);
    assert!(closings.load(Ordering::SeqCst) >= 2);
}

#[tokio::test]
async fn the_closing_hook_is_not_called_when_the_lock_was_lost() {
    let broker = MemoryBroker::new();
    broker.create_queue(QUEUE, 10, Duration::from_millis(200));
    broker.send(QUEUE, Message::with_body("slow").session("s1"));
    let log: Log = Arc::default();
    let b = broker.clone();
    let handler = BoxedHandler::new(
        move |cancel: CancellationToken, DeliveryCount(count): DeliveryCount| {
            let b = b.clone();
            async move {
                if count == 1 {
                    b.expire_session_lock(QUEUE, "s1");
                    cancel.cancelled().await;
                }
            }
        },
    );
    let hooks = SessionHooks {
        opened: hook("opened", logging_hook("opened", &log)),
        closing: hook("closing", logging_hook("closing", &log)),
    };
    let l = log.clone();
    let summaries = run_until(&broker, group(handler, hooks), move |b| {
        b.completed(QUEUE).len() == 1 && l.lock().unwrap().len() == 3
    })
    .await;
    assert!(summaries.iter().any(|s| s.end == SessionEnd::LockLost));
    assert_eq!(
        *log.lock().unwrap(),
        ["opened s1", "opened s1", "closing s1"]
    );
}

#[tokio::test]
async fn every_session_gets_its_own_hook_calls() {
    let broker = broker();
    for s in ["s1", "s2", "s3"] {
        broker.send(QUEUE, Message::with_body("m").session(s));
    }
    let log: Log = Arc::default();
    let hooks = SessionHooks {
        opened: hook("opened", logging_hook("opened", &log)),
        closing: hook("closing", logging_hook("closing", &log)),
    };
    let l = log.clone();
    run_until(&broker, group(logging_handler(&log), hooks), move |b| {
        b.completed(QUEUE).len() == 3
            && l.lock()
                .unwrap()
                .iter()
                .filter(|e| e.starts_with("closing"))
                .count()
                == 3
    })
    .await;
    let log = log.lock().unwrap();
    for s in ["s1", "s2", "s3"] {
        let events: Vec<&str> = log
            .iter()
            .filter(|e| e.ends_with(s))
            .map(|e| e.split(' ').next().unwrap())
            .collect();
        assert_eq!(events, ["opened", "m", "closing"], "session {s}");
    }
}

// ---- start-up ----

#[service_bus_trigger(queue = "orders", sessions = true)]
async fn process_session_message(_body: String) {}

#[service_bus_trigger(queue = "plain")]
async fn not_a_session_function(_body: String) {}

#[service_bus_trigger(queue = "gateway", sessions = true, message_type = "Ping")]
async fn ping(_body: String) {}

#[service_bus_trigger(queue = "gateway", sessions = true, message_type = "Status")]
async fn status(_body: String) {}

#[session_opened(function = "process_session_message")]
async fn load_customer(_session: SessionContext) {}

#[session_closing(function = "process_session_message")]
async fn flush_customer(_session: SessionContext) -> Result<(), HandlerError> {
    Ok(())
}

#[session_opened(function = "proces_session_message")]
async fn misspelt(_session: SessionContext) {}

#[session_opened(function = "not_a_session_function")]
async fn on_plain(_session: SessionContext) {}

#[session_closing(function = "process_session_message")]
async fn flush_again(_session: SessionContext) {}

#[session_opened(function = "ping")]
async fn ping_opened(_session: SessionContext) {}

#[session_opened(function = "status")]
async fn status_opened(_session: SessionContext) {}

#[session_closing(function = "status")]
async fn status_closing(_session: SessionContext) {}

fn hooks(paths: &[&str]) -> Vec<&'static berth::host::HookRegistration> {
    berth::host::hook_registrations()
        .filter(|h| {
            paths
                .iter()
                .any(|p| h.rust_path == format!("{}::{p}", module_path!()))
        })
        .collect()
}

/// The Rust path of the fn `name` of this module.
fn here(name: &str) -> String {
    format!("{}::{name}", module_path!())
}

fn errors(function_names: &[&str], hook_names: &[&str]) -> String {
    let settings = AppSettings::default();
    startup_errors(
        &registered(module_path!(), function_names),
        &hooks(hook_names),
        &HostConfig::default(),
        &settings,
    )
}

#[test]
fn hooks_attach_to_their_function_and_its_group() {
    // The hooks' Rust paths (`module_path!()::fn_name`).
    let (load, flush) = (here("load_customer"), here("flush_customer"));
    let settings = AppSettings::default();
    let resolved = resolve(
        &registered(module_path!(), &["process_session_message"]),
        &hooks(&["load_customer", "flush_customer"]),
        &HostConfig::default(),
        &settings,
    )
    .unwrap();
    let mut kinds: Vec<_> = resolved[0]
        .hooks
        .iter()
        .map(|h| (h.kind, h.rust_path))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            (HookKind::Opened, load.as_str()),
            (HookKind::Closing, flush.as_str())
        ]
    );
    let groups = entity_groups(&resolved, "MessageType").unwrap();
    assert_eq!(
        groups[0].hooks.opened.as_ref().map(|h| &*h.name),
        Some(load.as_str())
    );
    assert_eq!(
        groups[0].hooks.closing.as_ref().map(|h| &*h.name),
        Some(flush.as_str())
    );
    let text = berth_host::cli::describe(&resolved[0], "MessageType");
    assert!(
        text.contains(&format!("session_opened: {load} at ")),
        "{text}"
    );
    assert!(
        text.contains(&format!("session_closing: {flush} at ")),
        "{text}"
    );
    let json = berth_host::cli::describe_json(&resolved[0]);
    assert_eq!(json["session_opened"]["handler"], load.as_str());
}

#[test]
fn a_hook_naming_no_function_suggests_the_closest_name() {
    let text = errors(&["process_session_message"], &["misspelt"]);
    assert!(
        text.contains("names function `proces_session_message`, which is not registered"),
        "{text}"
    );
    assert!(
        text.contains("did you mean `process_session_message`?"),
        "{text}"
    );
    assert!(text.contains("hooks.rs:"), "{text}");
}

#[test]
fn a_hook_on_a_non_session_function_is_refused() {
    let text = errors(&["not_a_session_function"], &["on_plain"]);
    assert!(text.contains("not session-enabled"), "{text}");
    assert_eq!(text.matches("hooks.rs:").count(), 2, "{text}");
}

#[test]
fn two_hooks_of_one_kind_for_one_function_are_refused_naming_both() {
    let text = errors(
        &["process_session_message"],
        &["flush_customer", "flush_again"],
    );
    assert!(
        text.contains(
            "2 #[session_closing] hooks are registered for function `process_session_message`"
        ),
        "{text}"
    );
    assert!(
        text.contains("hooks::flush_customer") && text.contains("hooks::flush_again"),
        "{text}"
    );
}

#[test]
fn routed_functions_share_their_sessions_and_so_their_hooks() {
    let text = errors(&["ping", "status"], &["ping_opened", "status_opened"]);
    assert!(
        text.contains(
            "functions `ping`, `status` share queue gateway and each has a #[session_opened] hook"
        ),
        "{text}"
    );
    let settings = AppSettings::default();
    let resolved = resolve(
        &registered(module_path!(), &["ping", "status"]),
        &hooks(&["ping_opened", "status_closing"]),
        &HostConfig::default(),
        &settings,
    )
    .unwrap();
    let groups = entity_groups(&resolved, "MessageType").unwrap();
    assert!(groups[0].hooks.opened.is_some() && groups[0].hooks.closing.is_some());
}
