//! Configuration: `host.toml` (how the host runs; Azure Functions' `host.json`) and
//! `local.settings.toml` plus the environment (app settings; `local.settings.json`).
//!
//! Everything is read and checked before anything starts. Every problem is a
//! [`ConfigError`] naming the file, line and column, with the offending line, a caret and a
//! hint. The documented examples are `host.toml.example` and `local.settings.toml.example`
//! at the repository root.

mod app_settings;
mod binding;
mod connection_setting;
mod duration;
mod env_overrides;
mod env_tree;
mod error;
mod field_types;
mod host_config;
mod host_file;
mod retry;
mod sas_rules;
mod service_bus;
mod suggest;

use std::path::Path;

pub use app_settings::{AppSettings, SettingSource};
pub use binding::{resolve, BindingError, BindingErrorKind};
pub use connection_setting::{connection_not_set, resolve_connection, ConnectionSetting};
pub use duration::{parse_duration, ConfigDuration, DurationError};
pub use env_overrides::{parse_host_config_with_env, ENV_PREFIX};
pub use error::{ConfigError, Location};
pub use host_config::{EmulatorConfig, HostConfig, LogFormat, LoggingConfig, SeedConfig};
pub use host_file::{load_host_config, load_host_config_with_env, parse_host_config};
pub use retry::{Poison, RetryConfig};
pub use sas_rules::{RightsList, SasRuleConfig};
pub use service_bus::{FunctionOverrides, ServiceBusSettings};
pub(crate) use suggest::closest;

/// The default path of the host configuration, relative to the working directory.
pub const DEFAULT_HOST_CONFIG: &str = "host.toml";

/// The default path of the app settings file, relative to the working directory.
pub const DEFAULT_APP_SETTINGS: &str = "local.settings.toml";

/// Reads a config file. `Ok(None)`: the file does not exist and was not asked for
/// `explicit`ly, so defaults apply.
fn read_config_file(path: &Path, explicit: bool) -> Result<Option<String>, ConfigError> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ConfigError::in_file(
            name,
            "file not found",
            Some("check the path; only a file given explicitly has to exist".to_owned()),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Err(ConfigError::in_file(
            name,
            "the file is not valid UTF-8",
            Some("save it as UTF-8".to_owned()),
        )),
        Err(e) => Err(ConfigError::in_file(
            name,
            format!("cannot read the file: {e}"),
            None,
        )),
    }
}
