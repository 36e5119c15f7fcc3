//! Resolves every registration against the configuration and app settings.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth::host::{BoxedHook, FunctionRegistration, HookKind, HookRegistration, SourceLocation};

use crate::config::{self as binding, AppSettings, HostConfig, Poison};
use crate::runtime::{Entity, FunctionSpec, PoisonPolicy, RetryPolicy, TriggerSettings};

use super::groups::entity_groups;
use super::hooks::attach_hooks;
use super::StartupError;

/// A registered function with everything resolved.
#[derive(Debug, Clone)]
pub struct ResolvedFunction {
    /// What the runtime runs.
    pub spec: FunctionSpec,
    /// Whether `host.toml` disables it.
    pub disabled: bool,
    /// What the connection's app settings say (a connection string, or an identity-based
    /// connection); `None`, when neither form is set, means the
    /// embedded broker serves this function.
    pub connection: Option<binding::ConnectionSetting>,
    /// Where the function is declared.
    pub location: SourceLocation,
    /// The Rust path of the handler.
    pub rust_path: &'static str,
    /// The message type it handles on an entity it shares with other functions (`None`:
    /// every message of its entity).
    pub message_type: Option<String>,
    /// The only sessions it accepts (empty: any session).
    pub session_ids: Vec<String>,
    /// Its session hooks.
    pub hooks: Vec<ResolvedHook>,
}

/// A session hook, attached to the function it names.
#[derive(Debug, Clone)]
pub struct ResolvedHook {
    /// When it is called.
    pub kind: HookKind,
    /// The Rust path of the hook fn.
    pub rust_path: &'static str,
    /// Where the hook fn is declared.
    pub location: SourceLocation,
    /// The hook.
    pub hook: BoxedHook,
}

/// Resolves `registrations` and their session `hooks` with `config` and `settings`, and
/// checks that the functions sharing an entity can share its receiver (see
/// [`entity_groups`]). Every problem is reported, not just the first; functions come back
/// sorted by name.
pub fn resolve(
    registrations: &[&'static FunctionRegistration],
    hooks: &[&'static HookRegistration],
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
    let registered: Vec<&str> = registrations.iter().map(|r| r.name).collect();
    attach_hooks(hooks, &registered, &mut resolved, &mut errors);
    if let Err(mut e) = entity_groups(&resolved, &config.service_bus.message_type_property) {
        errors.append(&mut e);
    }
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
    let message_type = value("message_type", attributes.message_type);
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
    if message_type.as_deref().is_some_and(|t| t.trim().is_empty()) {
        errors.push(
            StartupError::new(format!(
                "function `{name}`: `message_type` resolves to nothing"
            ))
            .at(registration.location)
            .hint("set the app setting it names to the message type"),
        );
    }
    let session_ids = session_ids(
        registration,
        overrides.and_then(|o| o.session_ids.as_ref()),
        settings,
        &mut errors,
    );
    let connection_setting = match binding::resolve_connection(settings, &connection) {
        Ok(setting) => setting,
        Err(e) => {
            errors.push(
                StartupError::new(format!("function `{name}`: {e}"))
                    .at(registration.location)
                    .hint("see \"Identity-based connections\" in the README"),
            );
            None
        }
    };
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
        connection: connection_setting,
        location: registration.location,
        rust_path: registration.rust_path,
        message_type,
        session_ids,
        hooks: Vec::new(),
    })
}

/// The session ids a function accepts: `[functions.<name>] session_ids`, else the
/// attribute's, each resolved; only for session triggers, each once, none empty.
fn session_ids(
    registration: &'static FunctionRegistration,
    overridden: Option<&Vec<String>>,
    settings: &AppSettings,
    errors: &mut Vec<StartupError>,
) -> Vec<String> {
    let name = registration.name;
    let written: Vec<&str> = match overridden {
        Some(ids) => ids.iter().map(String::as_str).collect(),
        None => registration.trigger.session_ids.to_vec(),
    };
    if written.is_empty() {
        return Vec::new();
    }
    let mut fail = |message: String, hint: &str| {
        errors.push(
            StartupError::new(format!("function `{name}`: {message}"))
                .at(registration.location)
                .hint(hint),
        );
    };
    if !registration.trigger.sessions {
        fail(
            "`session_ids` is set but the trigger is not session-enabled".to_owned(),
            "only a session trigger (sessions = true) accepts sessions by id; remove `session_ids`",
        );
        return Vec::new();
    }
    let mut ids: Vec<String> = Vec::with_capacity(written.len());
    for raw in written {
        match binding::resolve(raw, settings) {
            Ok(id) if id.trim().is_empty() => fail(
                format!("session id `{raw}` resolves to nothing"),
                "set the app setting it names to the session id",
            ),
            Ok(id) if ids.contains(&id) => fail(
                format!("session id `{id}` is listed twice (after resolving `{raw}`)"),
                "list each session once",
            ),
            Ok(id) => ids.push(id),
            Err(e) => fail(
                format!("session id `{raw}`: {e}"),
                "set the app setting it names",
            ),
        }
    }
    ids
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
