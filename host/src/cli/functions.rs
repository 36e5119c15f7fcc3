//! `host functions`: the resolved bindings of every registered function.

use std::process::ExitCode;

use serde_json::json;

use crate::registry::ResolvedFunction;
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
        let list: Vec<_> = loaded.functions.iter().map(to_json).collect();
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
        for (i, function) in loaded.functions.iter().enumerate() {
            if i > 0 {
                println!();
            }
            print_function(function);
        }
    }
    ExitCode::SUCCESS
}

fn print_function(f: &ResolvedFunction) {
    let s = &f.spec.settings;
    let disabled = if f.disabled { " (disabled)" } else { "" };
    println!("{}{disabled}", f.spec.name);
    println!("  trigger:     {}", f.spec.entity);
    println!("  sessions:    {}", f.spec.sessions);
    println!(
        "  connection:  {} ({})",
        f.spec.connection,
        connection_state(f)
    );
    println!("  auto_complete: {}", s.auto_complete);
    if f.spec.sessions {
        println!(
            "  max_concurrent_sessions: {}, session_idle_timeout: {:?}",
            s.max_concurrent_sessions, s.session_idle_timeout
        );
    } else {
        println!("  max_concurrent_calls: {}", s.max_concurrent_calls);
    }
    println!(
        "  prefetch_count: {}, max_auto_lock_renewal_duration: {:?}",
        s.prefetch_count, s.max_auto_lock_renewal_duration
    );
    println!("  handler:     {} at {}", f.rust_path, f.location);
}

fn connection_state(f: &ResolvedFunction) -> &'static str {
    if f.connection_string.is_some() {
        "set"
    } else {
        "not set: the embedded broker serves it"
    }
}

fn to_json(f: &ResolvedFunction) -> serde_json::Value {
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
        "connection_set": f.connection_string.is_some(),
        "auto_complete": s.auto_complete,
        "prefetch_count": s.prefetch_count,
        "max_concurrent_sessions": s.max_concurrent_sessions,
        "max_concurrent_calls": s.max_concurrent_calls,
        "session_idle_timeout_ms": s.session_idle_timeout.as_millis() as u64,
        "max_auto_lock_renewal_duration_ms": s.max_auto_lock_renewal_duration.as_millis() as u64,
        "handler": f.rust_path,
        "location": f.location.to_string(),
    })
}
