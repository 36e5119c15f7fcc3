//! `host validate`: check everything, start nothing.

use std::process::ExitCode;

use super::load::{load, report};
use super::ConfigArgs;

/// Runs `host validate`.
pub(crate) fn run(args: ConfigArgs) -> ExitCode {
    match load(&args) {
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
