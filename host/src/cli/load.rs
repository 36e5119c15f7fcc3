//! Loads both files and resolves the registrations; shared by every command.

use std::path::{Path, PathBuf};

use crate::config::{self, AppSettings, HostConfig};
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
    let (config_path, explicit_config) = path_or(&args.config, "host.toml");
    let (settings_path, explicit_settings) = path_or(&args.settings, "local.settings.toml");
    let config = config::load_host_config(&config_path, explicit_config);
    let settings =
        AppSettings::load(&settings_path, explicit_settings).map(|s| s.with_env(std::env::vars()));
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
    let registrations: Vec<_> = berth::registrations().collect();
    let hooks: Vec<_> = berth::hook_registrations().collect();
    match registry::resolve(&registrations, &hooks, &config, &settings) {
        Ok(functions) => Ok(Loaded {
            config,
            settings,
            functions,
        }),
        Err(errors) => Err(errors.iter().map(ToString::to_string).collect()),
    }
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
