//! `host start`: load, validate, log the functions, open the triggers (on Service Bus, or
//! on the embedded broker for functions whose connection is not set), run until a signal,
//! then drain.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::entity::{EntitiesConfig, EntityConfig, TopicConfig};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::config::{ConnectionSetting, HostConfig, LogFormat};
use crate::ops::Ops;
use crate::registry::{entity_groups, ResolvedFunction};
use crate::runtime::{acceptor, message_pump, Entity, TriggerSet};
use crate::servicebus::{ClientOptions, ConnectionString, ConnectionTarget, ServiceBusClient};
use crate::{logging, message_file, shutdown};

use super::emulator::queue;
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
    let enabled: Vec<ResolvedFunction> = loaded
        .functions
        .into_iter()
        .filter(|f| !f.disabled)
        .filter(|f| args.functions.is_empty() || args.functions.iter().any(|n| *n == *f.spec.name))
        .collect();
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
    let code = runtime.block_on(serve(&loaded.config, enabled));
    drop(runtime);
    logging::shutdown();
    code
}

async fn serve(config: &HostConfig, functions: Vec<ResolvedFunction>) -> ExitCode {
    if functions.is_empty() {
        warn!("no enabled functions: nothing to do");
        return ExitCode::SUCCESS;
    }
    let stop = CancellationToken::new();
    shutdown::watch_signals(stop.clone());
    let ops = Ops::new();
    let ops_server = match ops.serve(config.ops.address, &stop).await {
        Ok(server) => server,
        Err(e) => {
            error!(error = %e, "the ops listener could not start");
            return ExitCode::FAILURE;
        }
    };

    let embedded = if functions.iter().any(|f| f.connection.is_none()) {
        match start_embedded(config, &functions).await {
            Ok(broker) => Some(broker),
            Err(e) => {
                error!(error = %e, "the embedded broker could not start");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };

    let groups = match entity_groups(&functions, &config.service_bus.message_type_property) {
        Ok(groups) => groups,
        Err(errors) => {
            for e in errors {
                error!("{e}");
            }
            return ExitCode::FAILURE;
        }
    };
    let mut clients: BTreeMap<String, ServiceBusClient> = BTreeMap::new();
    let mut triggers = TriggerSet::new();
    for group in groups {
        // The functions of a group share its entity and connection: any of them will do.
        let first = group.functions().next().map(|f| f.name.clone());
        let Some(function) = functions
            .iter()
            .find(|f| Some(&f.spec.name) == first.as_ref())
        else {
            continue;
        };
        // Clients are shared by connection string, or by connection name when identity-based.
        let (key, setting) = match (&function.connection, &embedded) {
            (Some(ConnectionSetting::ConnectionString(text)), _) => (text.clone(), None),
            (Some(ConnectionSetting::Identity(identity)), _) => (
                format!("identity:{}", function.spec.connection),
                Some(identity),
            ),
            (None, Some(broker)) => (broker.connection_string(), None),
            (None, None) => {
                error!(function = %function.spec.name, "no connection and no embedded broker");
                return ExitCode::FAILURE;
            }
        };
        let client = match clients.get(&key) {
            Some(client) => client.clone(),
            None => match connect(function, &key, setting, client_options(config)) {
                Ok(client) => {
                    ops.instrument_client(&client, &function.spec.connection);
                    clients.insert(key.clone(), client.clone());
                    client
                }
                Err(()) => return ExitCode::FAILURE,
            },
        };
        info!(
            function = %group.name,
            trigger = %group.entity,
            sessions = group.sessions,
            "function started"
        );
        if group.sessions {
            let source = client.session_source(&function.spec);
            let group = Arc::new(ops.instrument(group, source.probe()));
            triggers.spawn(acceptor::serve_group(group, source, stop.clone()));
        } else {
            let source = client.message_source(&function.spec);
            let group = Arc::new(ops.instrument(group, source.probe()));
            triggers.spawn(message_pump::run_group(group, source, stop.clone()));
        }
    }
    info!(
        functions = triggers.len(),
        "host started; SIGINT or SIGTERM stops it"
    );
    if let Some(broker) = &embedded {
        if let Err(e) = seed(config, broker, &clients).await {
            error!(error = %e, "seeding the embedded broker failed");
        }
    }
    let report = triggers.run_until(stop, config.shutdown_timeout).await;
    for client in clients.values() {
        client.close().await;
    }
    if let Some(broker) = embedded {
        broker.shutdown().await;
    }
    if let Some(server) = ops_server {
        server.shutdown().await;
    }
    info!(
        drained = report.drained,
        aborted = report.aborted,
        failed = report.failed,
        "host stopped"
    );
    if report.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// The options of every client the host opens, from `[service_bus]`.
fn client_options(config: &HostConfig) -> ClientOptions {
    ClientOptions {
        idle_timeout: config.service_bus.connection_idle_timeout,
    }
}

/// A client for a connection string (`text`) or an identity-based connection. A malformed
/// connection string is a configuration error (`Err`: the host stops); the broker is not
/// dialled here. The triggers connect on first use and, while the broker cannot be reached
/// (or refuses the credentials), keep trying with backoff, logging each failed attempt, with
/// `/healthz` 200 and `/readyz` 503 saying why: under an orchestrator a network blip at
/// start-up must not turn into a crash loop.
fn connect(
    function: &ResolvedFunction,
    text: &str,
    identity: Option<&crate::servicebus::IdentityConnection>,
    options: ClientOptions,
) -> Result<ServiceBusClient, ()> {
    let target: ConnectionTarget = match (identity, ConnectionString::parse(text)) {
        (Some(identity), _) => identity.clone().into(),
        (None, Ok(cs)) => cs.into(),
        (None, Err(e)) => {
            error!(
                function = %function.spec.name,
                setting = %function.spec.connection,
                error = %e,
                "the connection string in the app setting is invalid"
            );
            return Err(());
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

/// Sends the `[[emulator.seed]]` messages to the embedded broker.
async fn seed(
    config: &HostConfig,
    broker: &RunningBroker,
    clients: &BTreeMap<String, ServiceBusClient>,
) -> Result<(), String> {
    if config.emulator.seed.is_empty() {
        return Ok(());
    }
    let client = match clients.get(&broker.connection_string()) {
        Some(client) => client.clone(),
        None => {
            let cs =
                ConnectionString::parse(&broker.connection_string()).map_err(|e| e.to_string())?;
            ServiceBusClient::connect_with(cs, client_options(config))
                .await
                .map_err(|e| e.to_string())?
        }
    };
    for seed in &config.emulator.seed {
        let entity = seed.entity().ok_or_else(|| {
            format!(
                "[[emulator.seed]] for {} needs `queue` or `topic`",
                seed.file.display()
            )
        })?;
        let messages = message_file::read(&seed.file)?;
        let sender = client.sender(entity);
        for chunk in messages.chunks(500) {
            sender
                .send_batch(chunk)
                .await
                .map_err(|e| format!("seeding {entity}: {e}"))?;
        }
        info!(
            entity,
            messages = messages.len(),
            file = %seed.file.display(),
            "seeded the embedded broker"
        );
    }
    Ok(())
}

/// Starts the embedded broker with the entities the functions need (existing ones in a
/// data directory are kept) and refuses a session trigger on a non-session entity (or the
/// reverse).
async fn start_embedded(
    config: &HostConfig,
    functions: &[ResolvedFunction],
) -> Result<RunningBroker, String> {
    let emulator = &config.emulator;
    let ip = emulator
        .host
        .parse()
        .map_err(|e| format!("[emulator] host `{}`: {e}", emulator.host))?;
    // Development JWTs: identity-based connections (token credentials) work against it, but
    // anyone can mint one, so not on a network address unless anonymous access is allowed.
    let address = SocketAddr::new(ip, emulator.port);
    let dev_jwt = ip.is_loopback() || emulator.allow_anonymous;
    let mut builder = Broker::builder()
        .address(address)
        .dev_jwt(dev_jwt)
        .allow_anonymous(emulator.allow_anonymous)
        .entities(entities_for(functions));
    for rule in &emulator.sas_rules {
        builder = builder.rule(rule.rule());
    }
    builder = match &emulator.data_dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    let broker = builder.start().await.map_err(|e| e.to_string())?;
    for f in functions.iter().filter(|f| f.connection.is_none()) {
        let path = f.spec.entity.path();
        let entity = broker
            .namespace()
            .receiver(&path)
            .map_err(|e| format!("function `{}`: {e}", f.spec.name))?;
        if entity.requires_session() != f.spec.sessions {
            let (is, wants) = if f.spec.sessions {
                ("not session-enabled", "a session trigger")
            } else {
                ("session-enabled", "a trigger without sessions")
            };
            return Err(format!(
                "function `{}` is {wants} but {} is {is} (in the broker's data directory); \
                 change `sessions` in #[service_bus_trigger] at {}, or delete the entity",
                f.spec.name, f.spec.entity, f.location
            ));
        }
    }
    info!(
        connection_string = %broker.connection_string(),
        durable = emulator.data_dir.is_some(),
        "embedded Service Bus broker started (no connection string configured); the SDKs can send to it with this connection string"
    );
    Ok(broker)
}

/// The queues, topics and subscriptions that functions without a connection string read.
fn entities_for(functions: &[ResolvedFunction]) -> EntitiesConfig {
    let mut config = EntitiesConfig::default();
    let mut topics: BTreeMap<String, Vec<EntityConfig>> = BTreeMap::new();
    for f in functions.iter().filter(|f| f.connection.is_none()) {
        match &f.spec.entity {
            Entity::Queue(name) => config.queues.push(queue(name, f.spec.sessions)),
            Entity::Subscription {
                topic,
                subscription,
            } => topics
                .entry(topic.clone())
                .or_default()
                .push(queue(subscription, f.spec.sessions)),
        }
    }
    config.topics = topics
        .into_iter()
        .map(|(name, subscriptions)| TopicConfig {
            name,
            subscriptions,
        })
        .collect();
    config
}
