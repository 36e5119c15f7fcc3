//! Graceful shutdown on SIGINT / SIGTERM: the first signal starts the drain, a second one
//! exits at once.

use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Cancels `token` on the first SIGINT or SIGTERM; exits the process on the second.
pub fn watch_signals(token: CancellationToken) {
    tokio::spawn(async move {
        let name = next_signal().await;
        info!(
            signal = name,
            "shutting down: no new sessions; in-flight invocations finish first"
        );
        token.cancel();
        let name = next_signal().await;
        warn!(signal = name, "second signal: exiting now");
        std::process::exit(130);
    });
}

#[cfg(unix)]
async fn next_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

#[cfg(not(unix))]
async fn next_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "ctrl-c"
}
