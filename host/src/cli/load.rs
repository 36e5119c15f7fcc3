//! Loads both files and resolves the registrations; shared by every command.

use std::path::{Path, PathBuf};

use crate::config::{self, AppSettings, ConfigError, HostConfig};
use crate::registry::{self, ResolvedFunction};

use super::ConfigArgs;

/// The configuration and the functions it resolves to.
#[derive(Debug)]
pub struct Loaded {
    /// `host.toml`.
    pub config: HostConfig,
    /// `local.settings.toml` with the environment applied.
    pub settings: AppSettings,
    /// Every registered function, resolved, sorted by name.
    pub functions: Vec<ResolvedFunction>,
}

/// Loads the files named by `args` (or the defaults in the current directory) and resolves
/// every registered function. `Err` holds every problem, formatted for a terminal.
pub fn load(args: &ConfigArgs) -> Result<Loaded, Vec<String>> {
    let config = host_config(args);
    let settings = app_settings(args);
    let (config, settings) = match (config, settings) {
        (Ok(c), Ok(s)) => (c, s),
        (c, s) => {
            let mut errors = Vec::new();
            if let Err(e) = c {
                errors.push(format!("error: {e}"));
            }
            if let Err(e) = s {
                errors.push(format!("error: {e}"));
            }
            return Err(errors);
        }
    };
    let registrations: Vec<_> = berth::host::registrations().collect();
    let hooks: Vec<_> = berth::host::hook_registrations().collect();
    match registry::resolve(&registrations, &hooks, &config, &settings) {
        Ok(functions) => Ok(Loaded {
            config,
            settings,
            functions,
        }),
        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
    }
}

/// `host.toml` named by `args` (or the default file), with the `BERTH__…` variables applied.
pub(crate) fn host_config(args: &ConfigArgs) -> Result<HostConfig, ConfigError> {
    let (path, explicit) = path_or(&args.config, config::DEFAULT_HOST_CONFIG);
    config::load_host_config_with_env(&path, explicit, host_env())
}

/// The `BERTH__…` variables of the process environment. A value that is not valid UTF-8 is
/// passed on with replacement characters, so it is reported rather than skipped.
pub(crate) fn host_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars_os().filter_map(|(name, value)| {
        let name = name.into_string().ok()?;
        name.starts_with(config::ENV_PREFIX)
            .then(|| (name, value.to_string_lossy().into_owned()))
    })
}

/// The app settings named by `args` (or the default file), with the environment applied.
pub(crate) fn app_settings(args: &ConfigArgs) -> Result<AppSettings, ConfigError> {
    let (path, explicit) = path_or(&args.settings, config::DEFAULT_APP_SETTINGS);
    // Variables whose name or value is not UTF-8 cannot be app settings: skipped (the
    // `std::env::vars` iterator would panic on them).
    let env = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    AppSettings::load(&path, explicit).map(|s| s.with_env(env))
}

fn path_or(given: &Option<PathBuf>, default: &str) -> (PathBuf, bool) {
    match given {
        Some(path) => (path.clone(), true),
        None => (Path::new(default).to_path_buf(), false),
    }
}

/// Prints every problem to stderr.
pub(crate) fn report(errors: &[String]) {
    for error in errors {
        eprintln!("{error}");
    }
    eprintln!(
        "\nthe host cannot start: {} problem{} found",
        errors.len(),
        if errors.len() == 1 { "" } else { "s" }
    );
}
