//! [`Host`]: a started host — ops listener, embedded broker, one client per connection, one
//! receiver per entity group — and its run: open the triggers, run until shutdown, drain,
//! close.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use berth::host::AppState;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use super::embedded::{self, RunningBroker};
use super::{HostBuilder, StartError};
use crate::config::{ConnectionSetting, HostConfig};
use crate::ops::{Ops, OpsServer};
use crate::registry::{entity_groups, ResolvedFunction};
use crate::runtime::{acceptor, message_pump, DrainReport, EntityGroup, Observer, TriggerSet};
use crate::servicebus::{
    CaSources, ClientOptions, ConnectionString, ConnectionTarget, ServiceBusClient, TlsTrust,
};
use crate::shutdown;

/// A started function host. Build it with [`Host::builder`]; run it with [`Host::run`]
/// (until SIGINT or SIGTERM) or [`Host::run_until`].
pub struct Host {
    config: HostConfig,
    stop: CancellationToken,
    ops: Ops,
    ops_server: Option<OpsServer>,
    embedded: Option<RunningBroker>,
    clients: BTreeMap<String, ServiceBusClient>,
    triggers: Vec<(EntityGroup, ServiceBusClient)>,
    /// The options of every client the host opens (read once, extra CAs included).
    client_options: ClientOptions,
}

impl Host {
    /// A builder with no state: see [`HostBuilder`].
    pub fn builder() -> HostBuilder {
        HostBuilder::new()
    }

    /// Starts what the `functions` need (see [`HostBuilder::build`]); `state` is lent to
    /// their handlers and hooks, and `observer` hears what becomes of each delivery.
    pub(super) async fn start(
        config: HostConfig,
        functions: Vec<ResolvedFunction>,
        state: AppState,
        observer: Observer,
    ) -> Result<Host, StartError> {
        let groups = entity_groups(&functions, &config.service_bus.message_type_property)
            .map_err(|errors| StartError::all(errors.iter().map(ToString::to_string).collect()))?;
        let client_options = client_options(&config).map_err(|e| {
            StartError::new(format!(
                "the extra TLS certificate authorities cannot be used: {e}"
            ))
        })?;
        let stop = CancellationToken::new();
        let ops = Ops::new();
        let ops_server = ops
            .serve(config.ops.address, &stop)
            .await
            .map_err(|e| StartError::new(format!("the ops listener could not start: {e}")))?;
        let embedded = if functions.iter().any(|f| f.connection.is_none()) {
            Some(embedded::start(&config, &functions).await?)
        } else {
            None
        };
        let mut host = Host {
            config,
            stop,
            ops,
            ops_server,
            embedded,
            clients: BTreeMap::new(),
            triggers: Vec::new(),
            client_options,
        };
        let state = Arc::new(state);
        for group in groups {
            // The functions of a group share its entity and connection: any of them will do.
            let first = group.functions().next().map(|f| f.name.clone());
            let Some(function) = functions
                .iter()
                .find(|f| Some(&f.spec.name) == first.as_ref())
            else {
                continue;
            };
            let client = match host.client_for(function) {
                Ok(client) => client,
                Err(e) => {
                    host.close().await;
                    return Err(e);
                }
            };
            let group = group
                .with_app_state(state.clone())
                .with_observer(observer.clone());
            host.triggers.push((group, client));
        }
        Ok(host)
    }

    /// The client of `function`'s connection, made on first use. Clients are shared by
    /// connection string, or by connection name when identity-based.
    fn client_for(&mut self, function: &ResolvedFunction) -> Result<ServiceBusClient, StartError> {
        let (key, identity) = match (&function.connection, &self.embedded) {
            (Some(ConnectionSetting::ConnectionString(text)), _) => (text.clone(), None),
            (Some(ConnectionSetting::Identity(identity)), _) => (
                format!("identity:{}", function.spec.connection),
                Some(identity),
            ),
            (None, Some(broker)) => (broker.connection_string(), None),
            (None, None) => {
                return Err(StartError::new(format!(
                    "function `{}`: no connection and no embedded broker",
                    function.spec.name
                )))
            }
        };
        if let Some(client) = self.clients.get(&key) {
            return Ok(client.clone());
        }
        let client = connect(function, &key, identity, self.client_options.clone())?;
        self.ops
            .instrument_client(&client, &function.spec.connection);
        self.clients.insert(key, client.clone());
        Ok(client)
    }

    /// The embedded broker's connection string, when the host runs one (some function has
    /// no connection configured).
    pub fn embedded_connection_string(&self) -> Option<String> {
        self.embedded.as_ref().map(RunningBroker::connection_string)
    }

    /// The ops listener's address, when `[ops] address` is set.
    pub fn ops_address(&self) -> Option<SocketAddr> {
        self.ops_server.as_ref().map(OpsServer::local_addr)
    }

    /// Runs until SIGINT or SIGTERM (a second signal exits at once), then drains.
    pub async fn run(self) -> DrainReport {
        shutdown::watch_signals(self.stop.clone());
        let stop = self.stop.clone();
        self.run_until(stop).await
    }

    /// Opens every trigger, seeds the embedded broker, and runs until `shutdown` fires (or a
    /// trigger fails for good); then gives the in-flight invocations `shutdown_timeout` to
    /// finish, and closes the clients, the embedded broker and the ops listener.
    pub async fn run_until(self, shutdown: CancellationToken) -> DrainReport {
        let stop = self.stop.clone();
        let forward = tokio::spawn(async move {
            tokio::select! {
                _ = shutdown.cancelled() => stop.cancel(),
                _ = stop.cancelled() => {}
            }
        });
        let mut triggers = TriggerSet::new();
        for (group, client) in &self.triggers {
            info!(
                function = %group.name,
                trigger = %group.entity,
                sessions = group.sessions,
                "function started"
            );
            spawn_trigger(&mut triggers, &self.ops, group.clone(), client, &self.stop);
        }
        info!(
            functions = triggers.len(),
            "host started; SIGINT or SIGTERM stops it"
        );
        if let Some(broker) = &self.embedded {
            if let Err(e) = embedded::seed(
                &self.config,
                broker,
                &self.clients,
                self.client_options.clone(),
            )
            .await
            {
                error!(error = %e, "seeding the embedded broker failed");
            }
        }
        let report = triggers
            .run_until(self.stop.clone(), self.config.shutdown_timeout)
            .await;
        forward.abort();
        self.close().await;
        info!(
            drained = report.drained,
            aborted = report.aborted,
            failed = report.failed,
            "host stopped"
        );
        report
    }

    /// Closes the clients, the embedded broker and the ops listener.
    async fn close(self) {
        self.stop.cancel();
        for client in self.clients.values() {
            client.close().await;
        }
        if let Some(broker) = self.embedded {
            broker.shutdown().await;
        }
        if let Some(server) = self.ops_server {
            server.shutdown().await;
        }
    }
}

/// Opens the trigger of one entity group: an acceptor of sessions, or a message pump.
fn spawn_trigger(
    triggers: &mut TriggerSet,
    ops: &Ops,
    group: EntityGroup,
    client: &ServiceBusClient,
    stop: &CancellationToken,
) {
    let path = group.entity.path();
    let settings = &group.settings;
    if group.sessions {
        let source = client.session_source(&path, settings.prefetch_count);
        let group = Arc::new(group.instrumented(ops, source.probe()));
        triggers.spawn(acceptor::serve_group(group, source, stop.clone()));
    } else {
        let source = client.message_source(&path, settings.receiver());
        let group = Arc::new(group.instrumented(ops, source.probe()));
        triggers.spawn(message_pump::run_group(group, source, stop.clone()));
    }
}

/// A client for a connection string (`text`) or an identity-based connection. A malformed
/// connection string is a configuration error (the host does not start); the broker is not
/// dialled here. The triggers connect on first use and, while the broker cannot be reached
/// (or refuses the credentials), keep trying with backoff, logging each failed attempt, with
/// `/healthz` 200 and `/readyz` 503 saying why: under an orchestrator a network blip at
/// start-up must not turn into a crash loop.
fn connect(
    function: &ResolvedFunction,
    text: &str,
    identity: Option<&crate::servicebus::IdentityConnection>,
    options: ClientOptions,
) -> Result<ServiceBusClient, StartError> {
    let target: ConnectionTarget = match (identity, ConnectionString::parse(text)) {
        (Some(identity), _) => identity.clone().into(),
        (None, Ok(cs)) => cs.into(),
        (None, Err(e)) => {
            return Err(StartError::new(format!(
                "the connection string in the app setting is invalid (function `{}`, setting \
                 `{}`): {e}",
                function.spec.name, function.spec.connection
            )));
        }
    };
    info!(
        setting = %function.spec.connection,
        auth = target.auth_name(),
        endpoint = %format_args!("{}:{}", target.host(), target.port()),
        "connecting to Service Bus"
    );
    Ok(ServiceBusClient::with_options(target, options))
}

/// The options of every client the host opens, from `[service_bus]`; the extra CAs of
/// `ca_file`, `SSL_CERT_FILE` and `SSL_CERT_DIR` are read and checked here.
pub(crate) fn client_options(config: &HostConfig) -> Result<ClientOptions, String> {
    let sources = CaSources::from_env(
        config.service_bus.ca_file.as_deref(),
        "[service_bus] ca_file",
    );
    let trust = TlsTrust::load(&sources).map_err(|e| e.to_string())?;
    for (origin, certificates) in trust.added() {
        info!(%origin, certificates, "trusting extra CA certificates");
    }
    Ok(ClientOptions {
        idle_timeout: config.service_bus.connection_idle_timeout,
        trust,
    })
}
