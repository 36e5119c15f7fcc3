//! [`HostConfig`]: everything `host.toml` says, with defaults filled in.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::error::ConfigError;
use super::field_types::{
    deserialize_log_filter, deserialize_non_empty, deserialize_optional_socket_address,
};
use super::sas_rules::SasRuleConfig;
use super::service_bus::{FunctionOverrides, ServiceBusSettings};
use super::suggest::closest;

/// The host's configuration, read from `host.toml` (Azure Functions' `host.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostConfig {
    /// How long shutdown waits for in-flight invocations to finish. Default 30s.
    pub shutdown_timeout: Duration,
    /// Log filter and format.
    pub logging: LoggingConfig,
    /// Service Bus settings for every function.
    pub service_bus: ServiceBusSettings,
    /// Per-function overrides, by function name.
    pub functions: BTreeMap<String, FunctionOverrides>,
    /// The embedded broker.
    pub emulator: EmulatorConfig,
    /// The ops HTTP listener (health, readiness, metrics).
    pub ops: OpsConfig,
    /// The file this was read from; `None` when no file was found and defaults apply.
    pub source: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            shutdown_timeout: Duration::from_secs(30),
            logging: LoggingConfig::default(),
            service_bus: ServiceBusSettings::default(),
            functions: BTreeMap::new(),
            emulator: EmulatorConfig::default(),
            ops: OpsConfig::default(),
            source: None,
        }
    }
}

impl HostConfig {
    /// The effective settings of one function: `[service_bus]` with its overrides applied.
    pub fn settings_for(&self, function: &str) -> ServiceBusSettings {
        match self.functions.get(function) {
            Some(overrides) => self.service_bus.with_overrides(overrides),
            None => self.service_bus.clone(),
        }
    }

    /// Fails on the first `[functions.<name>]` table whose name is not registered, pointing
    /// at its header and suggesting the closest registered name.
    pub fn check_function_names<'a>(
        &self,
        registered: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<(), ConfigError> {
        for (name, overrides) in &self.functions {
            if registered.clone().into_iter().any(|r| r == name) {
                continue;
            }
            let mut names: Vec<&str> = registered.clone().into_iter().collect();
            names.sort_unstable();
            let hint = match closest(name, names.iter().copied()) {
                Some(near) => format!("did you mean `{near}`?"),
                None if names.is_empty() => "this binary registers no functions".to_owned(),
                None => format!("registered functions: `{}`", names.join("`, `")),
            };
            return Err(ConfigError::at(
                &overrides.location,
                format!("[functions.{name}] names no registered function"),
                Some(hint),
            ));
        }
        Ok(())
    }
}

/// The `[logging]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A `tracing` `EnvFilter` directive string, e.g. `"info"` or
    /// `"info,berth_host=debug"`. The `RUST_LOG` environment variable overrides it.
    /// Default `"info"`.
    #[serde(deserialize_with = "deserialize_log_filter")]
    pub level: String,
    /// How log lines are written. Default `pretty`.
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".to_owned(),
            format: LogFormat::Pretty,
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The `[emulator]` table: the embedded Service-Bus-compatible broker. More keys will come.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmulatorConfig {
    /// The address to listen on. Default `"127.0.0.1"`.
    #[serde(deserialize_with = "deserialize_non_empty")]
    pub host: String,
    /// The TCP port; 0 picks a free one. Default 0.
    pub port: u16,
    /// Where the broker keeps its data; relative paths are taken from the directory of
    /// `host.toml`. Default: none (in memory).
    pub data_dir: Option<PathBuf>,
    /// An entities TOML (the broker's `[[queues]]` / `[[topics]]` format, with every entity
    /// option: sessions, lock duration, duplicate detection, forwarding, status,
    /// auto-delete-on-idle, topic options…) created at start; the entities functions read
    /// that it does not list are added with the defaults. Relative paths are taken from the
    /// directory of `host.toml`. Default: none.
    pub entities: Option<PathBuf>,
    /// Messages to send once the broker has started (`[[emulator.seed]]` tables), e.g. the
    /// sample orders of a quickstart. Default: none.
    pub seed: Vec<SeedConfig>,
    /// `[[emulator.sas_rules]]`: SAS rules the broker checks tokens against, with their
    /// rights. Default: none (tokens are not checked; loopback only unless `allow_anonymous`).
    pub sas_rules: Vec<SasRuleConfig>,
    /// Let the broker listen on a non-loopback `host` with no SAS rule (anyone can use it;
    /// a warning is logged at start). Default false: such a configuration is refused.
    pub allow_anonymous: bool,
}

/// One `[[emulator.seed]]` table: a JSON-lines file of messages (the `host send --jsonl`
/// format) sent to a queue or topic when the embedded broker starts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeedConfig {
    /// The queue to send to.
    pub queue: Option<String>,
    /// The topic to send to.
    pub topic: Option<String>,
    /// The JSON-lines file; relative paths are taken from the directory of `host.toml`.
    pub file: PathBuf,
}

impl SeedConfig {
    /// The queue or topic the messages go to.
    pub fn entity(&self) -> Option<&str> {
        self.queue.as_deref().or(self.topic.as_deref())
    }
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            host: "127.0.0.1".to_owned(),
            port: 0,
            data_dir: None,
            entities: None,
            seed: Vec::new(),
            sas_rules: Vec::new(),
            allow_anonymous: false,
        }
    }
}

/// The `[ops]` table: the HTTP listener serving `/healthz`, `/readyz` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpsConfig {
    /// The socket address to listen on, e.g. `"0.0.0.0:8080"` (port 0 picks a free one).
    /// Default: none (no listener).
    #[serde(deserialize_with = "deserialize_optional_socket_address")]
    pub address: Option<std::net::SocketAddr>,
}

#[cfg(test)]
mod tests {
    use crate::config::parse_host_config;

    #[test]
    fn settings_for_applies_the_functions_overrides() {
        let text = "[service_bus]\nprefetch_count = 3\n[functions.f]\nprefetch_count = 7\n";
        let config = parse_host_config(text, "host.toml").unwrap();
        assert_eq!(config.settings_for("f").prefetch_count, 7);
        assert_eq!(config.settings_for("g").prefetch_count, 3);
    }

    #[test]
    fn unregistered_function_tables_are_reported_at_their_header() {
        let text = "\n[functions.proces_orders]\ndisabled = true\n";
        let config = parse_host_config(text, "host.toml").unwrap();
        assert!(config.check_function_names(["process_orders"]).is_err());
        let err = config
            .check_function_names(["process_orders", "audit"])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "host.toml:2:12: [functions.proces_orders] names no registered function\n  \
             = hint: did you mean `process_orders`?"
        );
        assert!(config.check_function_names(["proces_orders"]).is_ok());
        let err = config.check_function_names(["audit"]).unwrap_err();
        assert_eq!(err.hint(), Some("registered functions: `audit`"));
    }
}
