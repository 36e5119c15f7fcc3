//! `host validate`: check everything, start nothing (the extra CA files included).

use std::process::ExitCode;

use super::load::{load, report};
use super::ConfigArgs;
use crate::app::HostBuilder;

/// Runs `host validate`; the application state the functions take is checked against what
/// `builder` provides, and the extra CA files are read.
pub(crate) fn run(args: ConfigArgs, builder: &HostBuilder) -> ExitCode {
    let loaded = load(&args).and_then(|loaded| {
        let enabled: Vec<_> = loaded
            .functions
            .iter()
            .filter(|f| !f.disabled)
            .cloned()
            .collect();
        let mut problems: Vec<String> = builder
            .missing(&enabled)
            .into_iter()
            .map(|m| format!("error: {m}"))
            .collect();
        if let Err(e) = crate::app::client_options(&loaded.config) {
            problems.push(format!("error: {e}"));
        }
        if problems.is_empty() {
            Ok(loaded)
        } else {
            Err(problems)
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
