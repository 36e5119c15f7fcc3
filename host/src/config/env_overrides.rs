//! Host settings from the environment: `BERTH__<table>__<key>=<value>` sets `<key>` of
//! `[<table>]` on top of `host.toml` (or of the defaults when there is no file), for
//! containers that take every setting from their environment.
//!
//! A name's segments are split on double underscores (`BERTH__service_bus__retry__max_attempts`
//! is `[service_bus.retry] max_attempts`); single underscores belong to the key. A value is
//! read as a TOML value (`16`, `true`, `["a", "b"]`, `{ max_attempts = 3 }`) when that is
//! what its key takes, and as a string otherwise, so `10s`, `json` and `info,berth=debug`
//! need no quotes. Keys match case-insensitively when they match nothing exactly
//! (`BERTH__SERVICE_BUS__MAX_CONCURRENT_SESSIONS`); function names keep their case.
//!
//! The values are merged into the file's and the result is parsed as strictly as a file,
//! so every check applies; an error names the variable instead of a line.

use super::env_tree::{Node, NotATable, Origin, Tree};
use super::error::{ConfigError, Location};
use super::host_config::HostConfig;
use super::host_file::{parse_host_config, HOST_TABLES};

/// The prefix of the environment variables holding host settings.
pub const ENV_PREFIX: &str = "BERTH__";

/// What separates a variable's key segments.
const SEPARATOR: &str = "__";

/// The name the merged text is parsed under; errors are re-attributed, so it is only shown
/// for a conflict between the file and a variable that no line can be blamed for.
const MERGED: &str = "host settings";

const NAME_HINT: &str = "write BERTH__<table>__<key>, segments separated by two underscores, \
e.g. BERTH__service_bus__max_concurrent_sessions=16";

/// One `BERTH__…` variable.
struct Variable {
    /// Its name, as set.
    name: String,
    /// The key path it sets, case-folded to the known keys.
    path: Vec<String>,
    /// Its value, as set.
    raw: String,
    /// The value read as TOML, when it is not just a string.
    typed: Option<toml::Value>,
    /// Whether the TOML reading was refused and the raw text is used as a string.
    as_string: bool,
    /// The error the TOML reading gave, reported if the string fails too.
    typed_error: Option<ConfigError>,
}

impl Variable {
    fn value(&self) -> toml::Value {
        match &self.typed {
            Some(value) if !self.as_string => value.clone(),
            _ => toml::Value::String(self.raw.clone()),
        }
    }
}

/// Parses the text of a `host.toml` (`None`: there is no file) and applies the `BERTH__`
/// variables among `vars` on top of it. `file_name` names the file in errors; errors caused
/// by a variable name the variable. Other variables are ignored.
pub fn parse_host_config_with_env(
    text: Option<&str>,
    file_name: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<HostConfig, ConfigError> {
    let base = match text {
        Some(text) => parse_host_config(text, file_name)?,
        None => HostConfig::default(),
    };
    let mut variables = variables(vars)?;
    if variables.is_empty() {
        return Ok(base);
    }
    let file_tree = match text {
        Some(text) => {
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let table: toml::Table = toml::from_str(text)
                .map_err(|e| ConfigError::in_file(file_name, e.message(), None))?;
            Tree::from_table(table, Origin::File)
        }
        None => Tree::new(Origin::File),
    };
    // Each round either succeeds, fails for good, or reads one more variable as a string
    // instead of as TOML, so there are at most one more rounds than variables.
    loop {
        let mut tree = file_tree.clone();
        for (i, variable) in variables.iter().enumerate() {
            tree.set(&variable.path, variable.value(), Origin::Env(i))
                .map_err(|e| value_in_the_way(&variables, i, &e))?;
        }
        check_entity_conflicts(&tree, &variables)?;
        let (merged, origins) = tree.render();
        let error = match parse_host_config(&merged, MERGED) {
            Ok(config) => return Ok(with_locations(config, &base, &variables)),
            Err(error) => error,
        };
        let origin = error.line().and_then(|line| origins.get(line - 1));
        let Some(&Origin::Env(i)) = origin else {
            return Err(combined(file_name, &variables, &error));
        };
        let variable = &mut variables[i];
        let retry = matches!(&variable.typed, Some(v) if !v.is_str()) && !variable.as_string;
        if retry {
            variable.as_string = true;
            variable.typed_error = Some(error);
            continue;
        }
        let error = variable.typed_error.take().unwrap_or(error);
        return Err(named(&variable.name, &error));
    }
}

/// The `BERTH__` variables among `vars`, sorted by name, with their paths and values.
fn variables(
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<Vec<Variable>, ConfigError> {
    let mut found: Vec<(String, String)> = vars
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX))
        .collect();
    found.sort();
    let mut variables: Vec<Variable> = Vec::with_capacity(found.len());
    for (name, raw) in found {
        let rest = &name[ENV_PREFIX.len()..];
        let mut path: Vec<String> = rest.split(SEPARATOR).map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            let message = if rest.is_empty() {
                "the variable names no setting".to_owned()
            } else {
                format!("`{rest}` has an empty key segment")
            };
            return Err(ConfigError::in_file(
                location_name(&name),
                message,
                Some(NAME_HINT.to_owned()),
            ));
        }
        fold_case(&mut path);
        if let Some(earlier) = variables.iter().find(|v| v.path == path) {
            return Err(ConfigError::in_file(
                location_name(&name),
                format!("sets `{}`, which {} sets too", path.join("."), earlier.name),
                Some("set each setting once".to_owned()),
            ));
        }
        let typed = read_toml_value(&raw);
        variables.push(Variable {
            name,
            path,
            raw,
            typed,
            as_string: false,
            typed_error: None,
        });
    }
    Ok(variables)
}

/// `raw` as a TOML value, when it is one.
fn read_toml_value(raw: &str) -> Option<toml::Value> {
    use serde::Deserialize;
    toml::Value::deserialize(toml::de::ValueDeserializer::new(raw.trim())).ok()
}

/// Replaces each segment that matches no key of its table exactly, but exactly one
/// case-insensitively, by that key. Function names (`functions.<name>`) are left alone.
fn fold_case(path: &mut [String]) {
    for depth in 0..path.len() {
        if depth == 1 && path[0] == "functions" {
            continue;
        }
        let Some(keys) = table_keys(&path[..depth]) else {
            return;
        };
        let segment = &path[depth];
        if keys.contains(&segment.as_str()) {
            continue;
        }
        let mut matching = keys.iter().filter(|k| k.eq_ignore_ascii_case(segment));
        if let (Some(key), None) = (matching.next(), matching.next()) {
            path[depth] = (*key).to_owned();
        }
    }
}

/// The keys of the table at `table` in the catalogue of `host.toml`.
fn table_keys(table: &[String]) -> Option<&'static [&'static str]> {
    if table.is_empty() {
        return HOST_TABLES.first().map(|t| t.keys);
    }
    let mut parts: Vec<&str> = table.iter().map(String::as_str).collect();
    if parts.len() > 1 && parts[0] == "functions" {
        parts[1] = "<name>";
    }
    let header = format!("[{}]", parts.join("."));
    HOST_TABLES
        .iter()
        .find(|t| t.name.split(" / ").any(|name| name == header))
        .map(|t| t.keys)
}

/// How an error caused by the variable `name` is located.
fn location_name(name: &str) -> String {
    format!("environment variable {name}")
}

/// `error`, blamed on the variable `name`.
fn named(name: &str, error: &ConfigError) -> ConfigError {
    ConfigError::in_file(
        location_name(name),
        error.message(),
        error.hint().map(str::to_owned),
    )
}

/// `error` from the merged settings that no variable's line can be blamed for.
fn combined(file_name: &str, variables: &[Variable], error: &ConfigError) -> ConfigError {
    let names: Vec<&str> = variables.iter().map(|v| v.name.as_str()).collect();
    ConfigError::in_file(
        format!(
            "{file_name} with environment variables {}",
            names.join(", ")
        ),
        error.message(),
        error.hint().map(str::to_owned),
    )
}

fn origin_name(variables: &[Variable], origin: Origin) -> String {
    match origin {
        Origin::File => "in host.toml".to_owned(),
        Origin::Env(i) => format!("by {}", variables[i].name),
    }
}

fn value_in_the_way(variables: &[Variable], i: usize, error: &NotATable) -> ConfigError {
    ConfigError::in_file(
        location_name(&variables[i].name),
        format!(
            "`{}` is not a table: it is set to a value {}",
            error.path,
            origin_name(variables, error.origin)
        ),
        Some("set either the whole value or keys inside it, not both".to_owned()),
    )
}

/// A function given a queue and a topic or subscription, one of them by a variable.
fn check_entity_conflicts(tree: &Tree, variables: &[Variable]) -> Result<(), ConfigError> {
    let Some(Node::Table(functions)) = tree.entries.get("functions") else {
        return Ok(());
    };
    for function in functions.entries.values() {
        let Node::Table(table) = function else {
            continue;
        };
        let origin = |key: &str| match table.entries.get(key) {
            Some(Node::Value(_, origin)) => Some(*origin),
            Some(Node::Table(t)) => Some(t.origin),
            None => None,
        };
        let Some(queue) = origin("queue") else {
            continue;
        };
        for key in ["topic", "subscription"] {
            let Some(other) = origin(key) else {
                continue;
            };
            let (blamed, (what, against, by)) = match (queue, other) {
                (Origin::Env(i), _) => (i, ("queue", key, other)),
                (_, Origin::Env(i)) => (i, (key, "queue", queue)),
                _ => continue,
            };
            return Err(ConfigError::in_file(
                location_name(&variables[blamed].name),
                format!(
                    "`{what}` conflicts with `{against}` (set {})",
                    origin_name(variables, by)
                ),
                Some(
                    "a function reads either a queue, or a topic subscription; keep one".to_owned(),
                ),
            ));
        }
    }
    Ok(())
}

/// `config` with the `[functions.<name>]` locations of the file, or of the variable that
/// introduced the function.
fn with_locations(mut config: HostConfig, base: &HostConfig, variables: &[Variable]) -> HostConfig {
    for (name, overrides) in &mut config.functions {
        overrides.location = match base.functions.get(name) {
            Some(from_file) => from_file.location.clone(),
            None => {
                let by = variables
                    .iter()
                    .find(|v| v.path.len() > 1 && v.path[0] == "functions" && &v.path[1] == name)
                    .or_else(|| variables.iter().find(|v| v.path[0] == "functions"));
                Location {
                    file: by.map_or_else(|| MERGED.to_owned(), |v| location_name(&v.name)),
                    line: 0,
                    column: 0,
                }
            }
        };
    }
    config
}

#[cfg(test)]
#[path = "env_overrides_tests.rs"]
mod tests;
