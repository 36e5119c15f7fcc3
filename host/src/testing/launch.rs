//! Running the real host against the test broker: the first start, and
//! [`TestHost::restart`] — a new host on the same broker, as after a deployment or a crash,
//! with what the broker kept (messages, dead letters, session state).

use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::record::Recorder;
use super::{DrainReport, TestError, TestHost};
use crate::config::{AppSettings, HostConfig};
use crate::runtime::InvocationReport;
use crate::HostBuilder;

/// What every host of one test host is started with.
pub(super) struct Launch {
    pub(super) config: HostConfig,
    /// The test's app settings, and every connection setting naming the test broker.
    pub(super) settings: AppSettings,
    pub(super) only: Vec<String>,
    /// Where every host's observer reports (kept across restarts).
    pub(super) reports: Arc<watch::Sender<Vec<InvocationReport>>>,
}

/// One running host: its task, how to stop it, and whether it ended.
pub(super) struct Run {
    pub(super) task: JoinHandle<DrainReport>,
    pub(super) stop: CancellationToken,
    /// Fires when the host's run ended (stopped by the test, or by itself).
    pub(super) ended: CancellationToken,
}

impl Launch {
    /// Builds `host` with the test's configuration, settings, selection and observer, and
    /// runs it until stopped.
    pub(super) async fn run(&self, host: HostBuilder) -> Result<Run, TestError> {
        let host = host
            .config(self.config.clone())
            .settings(self.settings.clone())
            .functions(self.only.clone())
            .observer(Recorder(self.reports.clone()))
            .build()
            .await
            .map_err(|e| TestError::new(format!("the host did not start: {e}")))?;
        let (stop, ended) = (CancellationToken::new(), CancellationToken::new());
        let task = tokio::spawn({
            let (stop, ended) = (stop.clone(), ended.clone());
            async move {
                let report = host.run_until(stop).await;
                ended.cancel();
                report
            }
        });
        Ok(Run { task, stop, ended })
    }
}

impl TestHost {
    /// Stops the host ([`stop`](Self::stop)) and starts `host` (e.g. the app's `host()`
    /// again, with fresh state) on the same broker, with the same settings and functions:
    /// what a restart or a new deployment sees — the messages left, the dead letters, the
    /// session state. The reports go on accumulating (a wait's count includes the first
    /// host's). Returns how the first host drained.
    pub async fn restart(&mut self, host: HostBuilder) -> Result<DrainReport, TestError> {
        let drained = self.stop().await?;
        let run = self.running.launch.run(host).await?;
        self.running.run = Some(run);
        Ok(drained)
    }
}
