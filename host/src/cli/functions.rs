//! `host functions`: the resolved bindings of every registered function.

use std::fmt::Write as _;
use std::process::ExitCode;

use berth::host::HookKind;
use serde_json::json;

use crate::registry::{ResolvedFunction, ResolvedHook};
use crate::runtime::Entity;

use super::load::{load, report};
use super::FunctionsArgs;

/// Runs `host functions`.
pub(crate) fn run(args: FunctionsArgs) -> ExitCode {
    let loaded = match load(&args.files) {
        Ok(loaded) => loaded,
        Err(errors) => {
            report(&errors);
            return ExitCode::FAILURE;
        }
    };
    if args.json {
        let list: Vec<_> = loaded.functions.iter().map(describe_json).collect();
        match serde_json::to_string_pretty(&list) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if loaded.functions.is_empty() {
        println!("no functions are registered in this binary");
    } else {
        let property = &loaded.config.service_bus.message_type_property;
        for (i, function) in loaded.functions.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print!("{}", describe(function, property));
        }
    }
    ExitCode::SUCCESS
}

/// The `host functions` text for one function; `message_type_property` is the application
/// property routed functions are chosen by.
pub fn describe(f: &ResolvedFunction, message_type_property: &str) -> String {
    let s = &f.spec.settings;
    let disabled = if f.disabled { " (disabled)" } else { "" };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{}{disabled}", f.spec.name);
    let _ = writeln!(out, "  trigger:     {}", f.spec.entity);
    let _ = writeln!(out, "  sessions:    {}", f.spec.sessions);
    if !f.session_ids.is_empty() {
        let _ = writeln!(out, "  session_ids: {}", f.session_ids.join(", "));
    }
    if let Some(message_type) = &f.message_type {
        let _ = writeln!(
            out,
            "  message_type: {message_type} (application property {message_type_property})"
        );
    }
    let _ = writeln!(
        out,
        "  connection:  {} ({})",
        f.spec.connection,
        connection_state(f)
    );
    let _ = writeln!(out, "  auto_complete: {}", s.auto_complete);
    if f.spec.sessions {
        let _ = writeln!(
            out,
            "  max_concurrent_sessions: {}, session_idle_timeout: {:?}",
            s.max_concurrent_sessions, s.session_idle_timeout
        );
    } else {
        let _ = writeln!(out, "  max_concurrent_calls: {}", s.max_concurrent_calls);
    }
    let _ = writeln!(
        out,
        "  prefetch_count: {}, max_auto_lock_renewal_duration: {:?}",
        s.prefetch_count, s.max_auto_lock_renewal_duration
    );
    let _ = writeln!(out, "  handler:     {} at {}", f.rust_path, f.location);
    for hook in &f.hooks {
        let _ = writeln!(
            out,
            "  {}: {} at {}",
            hook.kind, hook.rust_path, hook.location
        );
    }
    out
}

fn connection_state(f: &ResolvedFunction) -> &'static str {
    if f.connection.is_some() {
        "set"
    } else {
        "not set: the embedded broker serves it"
    }
}

/// The `host functions --json` object for one function.
pub fn describe_json(f: &ResolvedFunction) -> serde_json::Value {
    let s = &f.spec.settings;
    let (queue, topic, subscription) = match &f.spec.entity {
        Entity::Queue(q) => (Some(q.as_str()), None, None),
        Entity::Subscription {
            topic,
            subscription,
        } => (None, Some(topic.as_str()), Some(subscription.as_str())),
    };
    json!({
        "name": &*f.spec.name,
        "disabled": f.disabled,
        "queue": queue,
        "topic": topic,
        "subscription": subscription,
        "entity_path": f.spec.entity.path(),
        "sessions": f.spec.sessions,
        "connection": f.spec.connection,
        "connection_set": f.connection.is_some(),
        "auto_complete": s.auto_complete,
        "prefetch_count": s.prefetch_count,
        "max_concurrent_sessions": s.max_concurrent_sessions,
        "max_concurrent_calls": s.max_concurrent_calls,
        "session_idle_timeout_ms": s.session_idle_timeout.as_millis() as u64,
        "max_auto_lock_renewal_duration_ms": s.max_auto_lock_renewal_duration.as_millis() as u64,
        "handler": f.rust_path,
        "location": f.location.to_string(),
        "message_type": f.message_type,
        "session_ids": f.session_ids,
        "session_opened": hook_json(&f.hooks, HookKind::Opened),
        "session_closing": hook_json(&f.hooks, HookKind::Closing),
    })
}

fn hook_json(hooks: &[ResolvedHook], kind: HookKind) -> serde_json::Value {
    match hooks.iter().find(|h| h.kind == kind) {
        Some(hook) => json!({
            "handler": hook.rust_path,
            "location": hook.location.to_string(),
        }),
        None => serde_json::Value::Null,
    }
}
