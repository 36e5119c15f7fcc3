//! `host validate`: check everything, start nothing.

use std::process::ExitCode;

use super::load::{load, report};
use super::ConfigArgs;
use crate::app::HostBuilder;

/// Runs `host validate`; the application state the functions take is checked against what
/// `builder` provides.
pub(crate) fn run(args: ConfigArgs, builder: &HostBuilder) -> ExitCode {
    let loaded = load(&args).and_then(|loaded| {
        let enabled: Vec<_> = loaded
            .functions
            .iter()
            .filter(|f| !f.disabled)
            .cloned()
            .collect();
        let missing = builder.missing(&enabled);
        if missing.is_empty() {
            Ok(loaded)
        } else {
            Err(missing.into_iter().map(|m| format!("error: {m}")).collect())
        }
    });
    match loaded {
        Ok(loaded) => {
            let enabled = loaded.functions.iter().filter(|f| !f.disabled).count();
            println!(
                "ok: {} function{} ({} enabled), configuration valid",
                loaded.functions.len(),
                if loaded.functions.len() == 1 { "" } else { "s" },
                enabled
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            report(&errors);
            ExitCode::FAILURE
        }
    }
}
