//! `host start`: load, validate, log the functions, open the triggers, run until a signal.

use std::process::ExitCode;

use tracing::{error, info};

use crate::config::LogFormat;
use crate::logging;

use super::load::{load, report};
use super::{LogFormatArg, StartArgs};

/// Runs `host start`.
pub(crate) fn run(args: StartArgs) -> ExitCode {
    let loaded = match load(&args.files) {
        Ok(loaded) => loaded,
        Err(errors) => {
            report(&errors);
            return ExitCode::FAILURE;
        }
    };
    let format = args.log_format.map(|f| match f {
        LogFormatArg::Pretty => LogFormat::Pretty,
        LogFormatArg::Json => LogFormat::Json,
    });
    logging::init(&loaded.config.logging, format);
    let unknown: Vec<&String> = args
        .functions
        .iter()
        .filter(|name| {
            !loaded
                .functions
                .iter()
                .any(|f| &*f.spec.name == name.as_str())
        })
        .collect();
    if !unknown.is_empty() {
        error!(
            ?unknown,
            "--functions names functions that are not registered"
        );
        return ExitCode::FAILURE;
    }
    for f in &loaded.functions {
        let selected =
            args.functions.is_empty() || args.functions.iter().any(|n| *n == *f.spec.name);
        info!(
            function = %f.spec.name,
            trigger = %f.spec.entity,
            sessions = f.spec.sessions,
            enabled = selected && !f.disabled,
            "function registered"
        );
    }
    error!("this build has no Service Bus transport yet: the AMQP trigger and the embedded broker are not wired into `host start`");
    ExitCode::FAILURE
}
