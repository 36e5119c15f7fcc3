//! `host start`: load and validate the files, set up logging, select the functions, and run
//! the [`Host`](crate::Host) the app's `main` built with them (see [`crate::app`]) until a
//! signal.

use std::process::ExitCode;

use tracing::{error, warn};

use crate::app::{enabled, HostBuilder};
use crate::config::LogFormat;
use crate::logging;

use super::load::{load, report};
use super::{LogFormatArg, StartArgs};

/// Runs `host start` with the app's state in `builder`.
pub(crate) fn run(args: StartArgs, builder: HostBuilder) -> ExitCode {
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
    let enabled = match enabled(loaded.functions, &args.functions) {
        Ok(enabled) => enabled,
        Err(e) => {
            error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if enabled.is_empty() {
        warn!("no enabled functions: nothing to do");
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            error!(error = %e, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let builder = builder
        .config(loaded.config)
        .settings(loaded.settings)
        .resolved(enabled);
    let code = runtime.block_on(async move {
        let host = match builder.build().await {
            Ok(host) => host,
            Err(e) => {
                for problem in e.problems() {
                    error!("{problem}");
                }
                return ExitCode::FAILURE;
            }
        };
        if host.run().await.failed > 0 {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    });
    drop(runtime);
    logging::shutdown();
    code
}
