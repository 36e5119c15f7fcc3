//! `host emulator`: the embedded Service-Bus-compatible broker on its own, for the official
//! SDKs, other tools and other hosts.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use berth_emulator::admin::AdminServer;
use berth_emulator::broker::Broker;
use berth_emulator::entity::EntitiesConfig;
use berth_emulator::limits::Limits;
use clap::Args;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::app::embedded::queue;
use crate::config::LoggingConfig;
use crate::{logging, shutdown};

/// `host emulator` options.
#[derive(Debug, Clone, Args)]
pub struct EmulatorArgs {
    /// A TOML file of entities: `[[queues]] name = "orders" requires_session = true …` and
    /// `[[topics]] name = "t" [[topics.subscriptions]] name = "s" …`.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The AMQP port; 0 picks a free one (printed in the connection string).
    #[arg(long, default_value_t = 5672)]
    pub port: u16,
    /// Keep messages in this directory: what was accepted survives a crash and a restart.
    /// Without it the broker keeps everything in memory.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Create a queue (repeatable).
    #[arg(long = "queue", value_name = "NAME")]
    pub queues: Vec<String>,
    /// Create a session-enabled queue (repeatable).
    #[arg(long = "session-queue", value_name = "NAME")]
    pub session_queues: Vec<String>,
    /// Also listen TLS-first on this port (as Azure Service Bus serves AMQPS on 5671), with
    /// --tls-cert and --tls-key.
    #[arg(long, requires_all = ["tls_cert", "tls_key"])]
    pub tls_port: Option<u16>,
    /// The TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// The port of the admin HTTP API (create, delete and list entities with their counts;
    /// see the README); 0 picks one.
    #[arg(long, default_value_t = 5300)]
    pub admin_port: u16,
    /// Do not serve the admin HTTP API.
    #[arg(long)]
    pub no_admin: bool,
    /// Check SAS tokens against this rule (repeatable): `NAME=KEY` has every right (like
    /// RootManageSharedAccessKey); `NAME=KEY:RIGHTS` only those listed, comma-separated, of
    /// Listen (receive, peek, settle, renew locks, session state), Send (send, schedule) and
    /// Manage (everything, and the admin API). With rules, the admin API needs a token from
    /// a rule with Manage. Without any rule, tokens are not checked (like the official
    /// emulator) and the broker only listens on loopback unless --allow-anonymous.
    #[arg(long = "sas-rule", value_name = "NAME=KEY[:RIGHTS]")]
    pub sas_rules: Vec<String>,
    /// Listen on a non-loopback --host even though anyone can use the broker (no SAS rule, or
    /// development JWTs, which are otherwise only accepted on loopback). Logged as a warning.
    #[arg(long)]
    pub allow_anonymous: bool,
    /// Most AMQP connections served at once; the next one is closed with
    /// `amqp:resource-limit-exceeded` (the other limits and their defaults: see the README).
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
}

/// Runs `host emulator` until SIGINT or SIGTERM.
pub(crate) fn run(args: EmulatorArgs) -> ExitCode {
    logging::init_to(&LoggingConfig::default(), None, logging::Output::Stderr);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(serve(args))
}

async fn serve(args: EmulatorArgs) -> ExitCode {
    // Development JWTs: a host with an identity-based connection (a token credential
    // against a local fake token endpoint) can use this broker too. Anyone can mint one, so
    // they are off on a network address unless anonymous access is allowed.
    let dev_jwt = args.host.is_loopback() || args.allow_anonymous;
    if !dev_jwt && !args.sas_rules.is_empty() {
        info!(host = %args.host, "development JWTs are off (not a loopback address): only SAS tokens are accepted");
    }
    let mut builder = Broker::builder()
        .address(SocketAddr::new(args.host, args.port))
        .dev_jwt(dev_jwt)
        .allow_anonymous(args.allow_anonymous)
        .limits(Limits {
            max_connections: args.max_connections,
            ..Limits::default()
        });
    let mut entities = EntitiesConfig::default();
    if let Some(path) = &args.config {
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|text| EntitiesConfig::from_toml(&text).map_err(|e| e.to_string()));
        match parsed {
            Ok(config) => entities = config,
            Err(e) => {
                eprintln!("error: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    for (names, sessions) in [(&args.queues, false), (&args.session_queues, true)] {
        for name in names {
            entities.queues.push(queue(name, sessions));
        }
    }
    builder = builder.entities(entities);
    for rule in &args.sas_rules {
        match berth_emulator::rights::parse_rule(rule) {
            Ok(rule) => builder = builder.rule(rule),
            Err(e) => {
                eprintln!("error: --sas-rule {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    if let (Some(port), Some(cert), Some(key)) = (args.tls_port, &args.tls_cert, &args.tls_key) {
        match berth_emulator::tls::acceptor(cert, key) {
            Ok(acceptor) => builder = builder.tls(SocketAddr::new(args.host, port), acceptor),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    builder = match &args.data_dir {
        Some(dir) => builder.data_dir(dir),
        None => builder.in_memory(),
    };
    let broker = match builder.start().await {
        Ok(broker) => broker,
        Err(e) => {
            error!(error = %e, "the embedded broker could not start");
            return ExitCode::FAILURE;
        }
    };
    let admin = if args.no_admin {
        None
    } else {
        match AdminServer::start(
            SocketAddr::new(args.host, args.admin_port),
            broker.namespace().clone(),
            broker.admin_access(),
        )
        .await
        {
            Ok(admin) => Some(admin),
            Err(e) => {
                // The broker is the main job; the admin API is a convenience.
                warn!(error = %e, "the admin API is not served (choose another --admin-port, or --no-admin)");
                None
            }
        }
    };
    // The connection string on stdout, alone on its line, for scripts and the SDKs.
    println!("{}", broker.connection_string());
    if let Some(admin) = &admin {
        info!(url = %format!("http://{}/entities", admin.local_addr()), "admin API");
    }
    info!(
        address = %broker.local_addr(),
        durable = args.data_dir.is_some(),
        entities = broker.namespace().entities().len(),
        "embedded Service Bus broker listening"
    );
    let stop = CancellationToken::new();
    shutdown::watch_signals(stop.clone());
    stop.cancelled().await;
    broker.shutdown().await;
    info!("embedded broker stopped");
    ExitCode::SUCCESS
}
