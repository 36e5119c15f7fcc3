//! Reading `host.toml`: the file's shape, the checks that involve several keys, and
//! loading from disk.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use super::duration::{ConfigDuration, PositiveDuration};
use super::error::{ConfigError, Source};
use super::field_types::{AtLeastOne, NonEmpty};
use super::host_config::{EmulatorConfig, HostConfig, LoggingConfig, OpsConfig};
use super::retry::{Poison, RetryConfig};
use super::service_bus::{FunctionOverrides, ServiceBusSettings};
use super::suggest::{RejectedKey, TableKeys};

/// The top level of `host.toml`, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HostFile {
    /// How long shutdown waits for in-flight invocations.
    shutdown_timeout: Option<ConfigDuration>,
    /// `[logging]`.
    #[serde(default)]
    logging: LoggingConfig,
    /// `[service_bus]`.
    #[serde(default)]
    service_bus: ServiceBusSettings,
    /// `[functions.<name>]`, keyed by the name with its place in the file.
    #[serde(default)]
    functions: BTreeMap<Spanned<String>, FunctionTable>,
    /// `[emulator]`.
    #[serde(default)]
    emulator: EmulatorConfig,
    /// `[ops]`.
    #[serde(default)]
    ops: OpsConfig,
}

/// A `[functions.<name>]` table, as written. See [`FunctionOverrides`] for the meaning of
/// each key; the entity names keep their spans for the checks in [`function_overrides`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FunctionTable {
    /// Do not start the function.
    #[serde(default)]
    disabled: bool,
    /// Queue to read instead of the registered one.
    queue: Option<Spanned<NonEmpty>>,
    /// Topic to read instead of the registered one.
    topic: Option<Spanned<NonEmpty>>,
    /// Subscription to read instead of the registered one.
    subscription: Option<Spanned<NonEmpty>>,
    /// App setting naming the connection string.
    connection: Option<NonEmpty>,
    /// Overrides `[service_bus] prefetch_count`.
    prefetch_count: Option<u32>,
    /// Overrides `[service_bus] max_concurrent_sessions`.
    max_concurrent_sessions: Option<AtLeastOne>,
    /// Overrides `[service_bus] max_concurrent_calls`.
    max_concurrent_calls: Option<AtLeastOne>,
    /// Overrides `[service_bus] session_idle_timeout`.
    session_idle_timeout: Option<PositiveDuration>,
    /// Overrides `[service_bus] max_auto_lock_renewal_duration`.
    max_auto_lock_renewal_duration: Option<ConfigDuration>,
    /// Overrides `[service_bus] auto_complete_messages`.
    auto_complete: Option<bool>,
    /// Overrides `[service_bus] max_messages_per_session`.
    #[serde(
        default,
        deserialize_with = "super::retry::deserialize_optional_at_least_one"
    )]
    max_messages_per_session: Option<u32>,
    /// Overrides `[service_bus] release_after_each_message`.
    release_after_each_message: Option<bool>,
    /// Overrides `[service_bus.retry]`.
    retry: Option<RetryConfig>,
    /// Overrides `[service_bus] poison`.
    poison: Option<Poison>,
    /// Replaces the attribute's `session_ids`.
    session_ids: Option<Spanned<Vec<NonEmpty>>>,
}

/// The tables of `host.toml` with their keys (exactly the fields above), for hints.
pub(crate) const HOST_TABLES: &[TableKeys] = &[
    TableKeys {
        name: "the top level (above the first [table])",
        keys: &[
            "shutdown_timeout",
            "logging",
            "service_bus",
            "functions",
            "emulator",
            "ops",
        ],
        rejected: &[
            RejectedKey {
                key: "version",
                message: "`version` is not used in host.toml",
                hint: "host.json's schema version has no equivalent here; remove it",
            },
            RejectedKey {
                key: "extensions",
                message: "`extensions` is not used in host.toml",
                hint: "write host.json's `extensions.serviceBus` settings in [service_bus]",
            },
        ],
        fallback_hint: None,
    },
    TableKeys {
        name: "[logging]",
        keys: &["level", "format"],
        rejected: &[],
        fallback_hint: None,
    },
    TableKeys {
        name: "[service_bus]",
        keys: &[
            "prefetch_count",
            "max_concurrent_sessions",
            "max_concurrent_calls",
            "session_idle_timeout",
            "max_auto_lock_renewal_duration",
            "auto_complete_messages",
            "max_messages_per_session",
            "release_after_each_message",
            "retry",
            "poison",
            "message_type_property",
            "connection_idle_timeout",
            "ca_file",
        ],
        rejected: &[],
        fallback_hint: None,
    },
    TableKeys {
        name: "[functions.<name>]",
        keys: &[
            "disabled",
            "queue",
            "topic",
            "subscription",
            "connection",
            "prefetch_count",
            "max_concurrent_sessions",
            "max_concurrent_calls",
            "session_idle_timeout",
            "max_auto_lock_renewal_duration",
            "auto_complete",
            "max_messages_per_session",
            "release_after_each_message",
            "retry",
            "poison",
            "session_ids",
        ],
        rejected: &[
            RejectedKey {
                key: "sessions",
                message: "`sessions` cannot be overridden in host.toml",
                hint: "whether a function takes sessions is fixed by its \
                       #[service_bus_trigger(sessions = ...)] attribute, because its handler \
                       is written for it; remove this line",
            },
            RejectedKey {
                key: "message_type_property",
                message: "`message_type_property` cannot be set per function",
                hint: "the functions sharing an entity share one receiver, which routes by \
                       one property: set it for the host in [service_bus]",
            },
            RejectedKey {
                key: "connection_idle_timeout",
                message: "`connection_idle_timeout` cannot be set per function",
                hint: "the functions on one connection share it: set it for the host in \
                       [service_bus]",
            },
            RejectedKey {
                key: "ca_file",
                message: "`ca_file` cannot be set per function",
                hint: "every connection of the host trusts the same CAs: set it for the host \
                       in [service_bus]",
            },
        ],
        fallback_hint: None,
    },
    TableKeys {
        name: "[service_bus.retry] / [functions.<name>.retry]",
        keys: &["max_attempts", "initial_delay", "max_delay"],
        rejected: &[],
        fallback_hint: None,
    },
    TableKeys {
        name: "[emulator]",
        keys: &[
            "host",
            "port",
            "data_dir",
            "entities",
            "seed",
            "sas_rules",
            "allow_anonymous",
        ],
        rejected: &[],
        fallback_hint: None,
    },
    TableKeys {
        name: "[ops]",
        keys: &["address"],
        rejected: &[],
        fallback_hint: None,
    },
];

/// Parses the text of a `host.toml`; `file_name` names it in errors.
pub fn parse_host_config(text: &str, file_name: &str) -> Result<HostConfig, ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let source = Source {
        name: file_name,
        text,
    };
    let file: HostFile = toml::from_str(text).map_err(|e| source.toml_error(&e, HOST_TABLES))?;
    let mut functions = BTreeMap::new();
    for (name, table) in file.functions {
        let overrides = function_overrides(&source, &name, table)?;
        functions.insert(name.into_inner(), overrides);
    }
    Ok(HostConfig {
        shutdown_timeout: file
            .shutdown_timeout
            .map_or(HostConfig::default().shutdown_timeout, ConfigDuration::get),
        logging: file.logging,
        service_bus: file.service_bus,
        functions,
        emulator: file.emulator,
        ops: file.ops,
        source: None,
    })
}

/// Checks one `[functions.<name>]` table and converts it.
fn function_overrides(
    source: &Source<'_>,
    name: &Spanned<String>,
    table: FunctionTable,
) -> Result<FunctionOverrides, ConfigError> {
    if name.get_ref().trim().is_empty() {
        return Err(source.error(
            name.span(),
            "the function name is empty",
            Some("write the registered function name: [functions.my_function]".to_owned()),
        ));
    }
    if let Some(queue) = &table.queue {
        let other = [
            ("topic", &table.topic),
            ("subscription", &table.subscription),
        ]
        .into_iter()
        .find_map(|(key, value)| value.as_ref().map(|v| (key, v.span())));
        if let Some((key, span)) = other {
            return Err(source.error(
                span,
                format!(
                    "`{key}` conflicts with `queue` (set at line {})",
                    source.location(queue.span().start).line
                ),
                Some(
                    "a function reads either a queue, or a topic subscription; keep one".to_owned(),
                ),
            ));
        }
    }
    let session_ids = match table.session_ids {
        Some(ids) => Some(session_ids(source, ids)?),
        None => None,
    };
    let text = |value: Option<Spanned<NonEmpty>>| value.map(|v| v.into_inner().0);
    Ok(FunctionOverrides {
        disabled: table.disabled,
        queue: text(table.queue),
        topic: text(table.topic),
        subscription: text(table.subscription),
        connection: table.connection.map(|c| c.0),
        prefetch_count: table.prefetch_count,
        max_concurrent_sessions: table.max_concurrent_sessions.map(|v| v.0),
        max_concurrent_calls: table.max_concurrent_calls.map(|v| v.0),
        session_idle_timeout: table.session_idle_timeout.map(|d| d.0),
        max_auto_lock_renewal_duration: table
            .max_auto_lock_renewal_duration
            .map(ConfigDuration::get),
        auto_complete: table.auto_complete,
        max_messages_per_session: table.max_messages_per_session,
        release_after_each_message: table.release_after_each_message,
        retry: table.retry,
        poison: table.poison,
        session_ids,
        location: source.location(name.span().start),
    })
}

/// A `session_ids` list: at least one id, each once.
fn session_ids(
    source: &Source<'_>,
    ids: Spanned<Vec<NonEmpty>>,
) -> Result<Vec<String>, ConfigError> {
    let span = ids.span();
    let ids: Vec<String> = ids.into_inner().into_iter().map(|id| id.0).collect();
    if ids.is_empty() {
        return Err(source.error(
            span,
            "`session_ids` lists no session",
            Some(
                "list the session ids to accept, or remove the key to accept any session"
                    .to_owned(),
            ),
        ));
    }
    let repeated = ids.iter().enumerate().find_map(|(i, id)| {
        let first = ids[..i].iter().position(|other| other == id)?;
        Some((first + 1, i + 1, id))
    });
    if let Some((first, again, id)) = repeated {
        return Err(source.error(
            span,
            format!("session id `{id}` is listed twice (items {first} and {again})"),
            Some("list each session once".to_owned()),
        ));
    }
    Ok(ids)
}

/// Reads `host.toml` from `path`. A missing file is an error when the path was given
/// `explicit`ly, and means "all defaults" otherwise. A relative `[emulator] data_dir`, `entities` or
/// `[service_bus] ca_file` is taken from the file's directory.
pub fn load_host_config(path: &Path, explicit: bool) -> Result<HostConfig, ConfigError> {
    load_host_config_with_env(path, explicit, std::iter::empty())
}

/// [`load_host_config`], with the `BERTH__…` variables among `vars` applied on top of the
/// file (see [`parse_host_config_with_env`](super::parse_host_config_with_env)); `host`
/// passes the process environment.
pub fn load_host_config_with_env(
    path: &Path,
    explicit: bool,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<HostConfig, ConfigError> {
    let name = path.display().to_string();
    let text = super::read_config_file(path, explicit)?;
    let mut config = super::parse_host_config_with_env(text.as_deref(), &name, vars)?;
    if text.is_none() {
        return Ok(config);
    }
    if let Some(base) = path.parent() {
        for seed in &mut config.emulator.seed {
            if seed.file.is_relative() {
                seed.file = base.join(&seed.file);
            }
        }
    }
    if let Some(base) = path.parent() {
        let relative = [
            config.emulator.data_dir.as_mut(),
            config.emulator.entities.as_mut(),
            config.service_bus.ca_file.as_mut(),
        ];
        for path in relative.into_iter().flatten() {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        }
    }
    config.source = Some(path.to_path_buf());
    Ok(config)
}

#[cfg(test)]
#[path = "host_file_tests.rs"]
mod tests;
