//! Resolves every registration against the configuration and app settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth::{FunctionRegistration, SourceLocation};

use crate::config::{self as binding, AppSettings, HostConfig, Poison};
use crate::runtime::{Entity, FunctionSpec, PoisonPolicy, RetryPolicy, TriggerSettings};

use super::StartupError;

/// A registered function with everything resolved.
#[derive(Debug, Clone)]
pub struct ResolvedFunction {
    /// What the runtime runs.
    pub spec: FunctionSpec,
    /// Whether `host.toml` disables it.
    pub disabled: bool,
    /// The connection string, when the connection's app setting is set; `None` means the
    /// embedded broker serves this function.
    pub connection_string: Option<String>,
    /// Where the function is declared.
    pub location: SourceLocation,
    /// The Rust path of the handler.
    pub rust_path: &'static str,
}

/// Resolves `registrations` with `config` and `settings`. Every problem is reported, not
/// just the first; functions come back sorted by name.
pub fn resolve(
    registrations: &[&'static FunctionRegistration],
    config: &HostConfig,
    settings: &AppSettings,
) -> Result<Vec<ResolvedFunction>, Vec<StartupError>> {
    let mut errors = Vec::new();
    check_duplicate_names(registrations, &mut errors);
    if let Err(e) = config.check_function_names(registrations.iter().map(|r| r.name)) {
        errors.push(StartupError::new(e.to_string()));
    }
    let mut resolved = Vec::new();
    for registration in registrations {
        match resolve_one(registration, config, settings) {
            Ok(function) => resolved.push(function),
            Err(mut e) => errors.append(&mut e),
        }
    }
    check_shared_entities(&resolved, &mut errors);
    if errors.is_empty() {
        resolved.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        Ok(resolved)
    } else {
        Err(errors)
    }
}

fn resolve_one(
    registration: &'static FunctionRegistration,
    config: &HostConfig,
    settings: &AppSettings,
) -> Result<ResolvedFunction, Vec<StartupError>> {
    let name = registration.name;
    let attributes = &registration.trigger;
    let overrides = config.functions.get(name);
    let mut errors = Vec::new();
    let mut value = |what: &str, raw: Option<&str>| -> Option<String> {
        let raw = raw?;
        match binding::resolve(raw, settings) {
            Ok(v) => Some(v),
            Err(e) => {
                errors.push(
                    StartupError::new(format!("function `{name}`: {what} `{raw}`: {e}"))
                        .at(registration.location),
                );
                None
            }
        }
    };
    let pick = |o: Option<&Option<String>>, a: Option<&'static str>| -> Option<String> {
        o.and_then(|v| v.clone()).or(a.map(str::to_owned))
    };
    let queue = pick(overrides.map(|o| &o.queue), attributes.queue);
    let topic = pick(overrides.map(|o| &o.topic), attributes.topic);
    let subscription = pick(overrides.map(|o| &o.subscription), attributes.subscription);
    let connection = pick(
        overrides.map(|o| &o.connection),
        Some(attributes.connection),
    )
    .unwrap_or_default();
    let queue = value("queue", queue.as_deref());
    let topic = value("topic", topic.as_deref());
    let subscription = value("subscription", subscription.as_deref());
    let connection = value("connection", Some(&connection)).unwrap_or_default();
    let entity = match (queue, topic, subscription) {
        (Some(queue), None, _) => Some(Entity::Queue(queue)),
        (None, Some(topic), Some(subscription)) => Some(Entity::Subscription {
            topic,
            subscription,
        }),
        _ if !errors.is_empty() => None,
        _ => {
            errors.push(
                StartupError::new(format!(
                    "function `{name}` needs either a queue or a topic and a subscription"
                ))
                .at(registration.location)
                .hint("set `queue`, or `topic` and `subscription`, in the attribute or in [functions.NAME] of host.toml, not both"),
            );
            None
        }
    };
    let handler = (registration.handler)();
    if handler.needs_session() && !attributes.sessions {
        errors.push(
            StartupError::new(format!(
                "function `{name}` takes a `SessionContext` but its trigger is not session-enabled"
            ))
            .at(registration.location)
            .hint("add `sessions = true` to #[service_bus_trigger], or drop the SessionContext argument"),
        );
    }
    let Some(entity) = entity else {
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let effective = config.settings_for(name);
    let auto_complete = overrides
        .and_then(|o| o.auto_complete)
        .or(attributes.auto_complete)
        .unwrap_or(config.service_bus.auto_complete_messages);
    let connection_string = settings.get(&connection).map(str::to_owned);
    Ok(ResolvedFunction {
        spec: FunctionSpec {
            name: Arc::from(name),
            entity,
            connection,
            sessions: attributes.sessions,
            settings: TriggerSettings {
                prefetch_count: effective.prefetch_count,
                max_concurrent_sessions: effective.max_concurrent_sessions,
                max_concurrent_calls: effective.max_concurrent_calls,
                session_idle_timeout: effective.session_idle_timeout,
                max_auto_lock_renewal_duration: effective.max_auto_lock_renewal_duration,
                auto_complete,
                max_messages_per_session: effective.max_messages_per_session,
                release_after_each_message: effective.release_after_each_message,
                retry: effective.retry.map(|r| RetryPolicy {
                    max_attempts: r.max_attempts,
                    initial_delay: r.initial_delay,
                    max_delay: r.max_delay,
                }),
                poison: match effective.poison {
                    Poison::DeadLetter => PoisonPolicy::DeadLetter,
                    Poison::Abandon => PoisonPolicy::Abandon,
                },
            },
            handler,
        },
        disabled: overrides.is_some_and(|o| o.disabled),
        connection_string,
        location: registration.location,
        rust_path: registration.rust_path,
    })
}

fn check_duplicate_names(
    registrations: &[&'static FunctionRegistration],
    errors: &mut Vec<StartupError>,
) {
    let mut by_name: BTreeMap<&str, Vec<&FunctionRegistration>> = BTreeMap::new();
    for r in registrations {
        by_name.entry(r.name).or_default().push(r);
    }
    for (name, regs) in by_name.into_iter().filter(|(_, r)| r.len() > 1) {
        let mut error = StartupError::new(format!("{} functions are named `{name}`", regs.len()))
            .hint("function names must be unique: rename one fn or give it `name = \"...\"`");
        for r in regs {
            error = error.at(format!("{} ({})", r.location, r.rust_path));
        }
        errors.push(error);
    }
}

fn check_shared_entities(functions: &[ResolvedFunction], errors: &mut Vec<StartupError>) {
    let mut by_entity: BTreeMap<(String, String), Vec<&ResolvedFunction>> = BTreeMap::new();
    for f in functions.iter().filter(|f| !f.disabled) {
        let key = (
            f.spec.connection.clone(),
            f.spec.entity.path().to_lowercase(),
        );
        by_entity.entry(key).or_default().push(f);
    }
    for ((connection, _), fs) in by_entity.into_iter().filter(|(_, f)| f.len() > 1) {
        let names: Vec<&str> = fs.iter().map(|f| &*f.spec.name).collect();
        let mut error = StartupError::new(format!(
            "functions `{}` are all bound to {} on connection `{connection}`; they would compete for its messages",
            names.join("`, `"),
            fs[0].spec.entity,
        ))
        .hint("bind each function to its own entity, or disable all but one in host.toml ([functions.NAME] disabled = true)");
        for f in fs {
            error = error.at(format!("{} ({})", f.location, f.rust_path));
        }
        errors.push(error);
    }
}
