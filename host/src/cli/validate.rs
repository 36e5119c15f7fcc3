//! `host validate`: check everything, start nothing (the extra CA files included).

use std::process::ExitCode;

use super::load::{load, report};
use super::ConfigArgs;

/// Runs `host validate`.
pub(crate) fn run(args: ConfigArgs) -> ExitCode {
    let checked = load(&args).and_then(|loaded| {
        let trust = super::start::client_options(&loaded.config);
        trust
            .map(|_| loaded)
            .map_err(|e| vec![format!("error: {e}")])
    });
    match checked {
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
