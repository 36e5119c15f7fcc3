//! Operating the host: an HTTP listener (`[ops] address` in `host.toml`) with `/healthz`
//! (the process runs), `/readyz` (every trigger connected with a live receiver) and
//! `/metrics` (Prometheus / OpenMetrics text).
//!
//! [`metrics`] holds the registry and the label-resolved handles the pumps count with;
//! [`readiness`] the probes the Service Bus client and receivers report to; [`server`]
//! the listener. [`Ops`] ties them together for `host start` (and tests):
//!
//! ```no_run
//! # async fn run(group: berth_host::runtime::EntityGroup, spec: berth_host::runtime::FunctionSpec, client: berth_host::servicebus::ServiceBusClient) -> Result<(), Box<dyn std::error::Error>> {
//! use berth_host::ops::{Ops, OpsServer};
//! let ops = Ops::new();
//! ops.instrument_client(&client, &spec.connection);
//! let source = client.session_source(&spec.entity.path(), spec.settings.prefetch_count);
//! let group = group.instrumented(&ops, source.probe());
//! let server = OpsServer::start("127.0.0.1:8080".parse()?, ops.clone()).await?;
//! # Ok(()) }
//! ```

pub mod metrics;
pub mod readiness;
pub mod server;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

pub use metrics::{FunctionMetrics, GroupMetrics, InvocationOutcome, Metrics, TriggerMetrics};
pub use readiness::{ConnectionProbe, Readiness, ReceiverProbe};
pub use server::{OpsError, OpsServer};

use crate::servicebus::ServiceBusClient;

/// The metrics and readiness of one host, shared with the ops listener. Cheap to clone.
#[derive(Clone, Default)]
pub struct Ops {
    /// The metrics registry.
    pub metrics: Metrics,
    /// The triggers `/readyz` checks.
    pub readiness: Readiness,
}

impl Ops {
    /// Empty metrics and no triggers.
    pub fn new() -> Self {
        Ops::default()
    }

    /// Counts the reconnects of `client` under its connection setting's name.
    pub fn instrument_client(&self, client: &ServiceBusClient, setting: &str) {
        client
            .probe()
            .count_reconnects(self.metrics.reconnects(setting));
    }

    /// Starts the listener on `address`, if set, and turns `/readyz` to "draining" once
    /// `stop` fires.
    pub async fn serve(
        &self,
        address: Option<SocketAddr>,
        stop: &CancellationToken,
    ) -> Result<Option<OpsServer>, OpsError> {
        let (readiness, stop) = (self.readiness.clone(), stop.clone());
        tokio::spawn(async move {
            stop.cancelled().await;
            readiness.drain();
        });
        match address {
            Some(address) => OpsServer::start(address, self.clone()).await.map(Some),
            None => Ok(None),
        }
    }

    /// Watches the receiver of the trigger `name` (reporting through `probe`) for
    /// `/readyz`, counting what it reports with `trigger`.
    pub fn watch_receiver(
        &self,
        name: Arc<str>,
        probe: &Arc<ReceiverProbe>,
        trigger: TriggerMetrics,
    ) {
        probe.count_with(trigger);
        self.readiness.watch(name, probe.clone());
    }
}
