//! `host deploy …`: deployment manifests generated from the app's own bindings.

use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::keda::{keda_manifest, KedaOptions};
use super::load::{load, report};
use super::ConfigArgs;

/// `host deploy` options.
#[derive(Debug, Clone, Args)]
pub struct DeployArgs {
    /// What to generate.
    #[command(subcommand)]
    pub target: DeployTarget,
}

/// The manifests `host deploy` can print.
#[derive(Debug, Clone, Subcommand)]
pub enum DeployTarget {
    /// Print a KEDA ScaledObject whose azure-servicebus triggers are the enabled functions'
    /// queues and subscriptions (one per entity), with the TriggerAuthentications they need.
    ///
    /// A connection whose app setting holds a connection string is read by KEDA from the
    /// scale target's environment (connectionFromEnv), or from --secret; a connection set
    /// only as `<Connection>__fullyQualifiedNamespace` uses workload identity.
    Keda(KedaArgs),
}

/// `host deploy keda` options.
#[derive(Debug, Clone, Args)]
pub struct KedaArgs {
    /// Configuration files (and BERTH__… variables), as for `host start`.
    #[command(flatten)]
    pub files: ConfigArgs,
    /// The Deployment to scale (scaleTargetRef.name).
    #[arg(long, value_name = "NAME")]
    pub deployment: String,
    /// The ScaledObject's name. Default: the deployment's.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// The Kubernetes namespace. Default: none written (kubectl's -n applies).
    #[arg(long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// minReplicaCount (0 lets KEDA scale to zero when every entity is empty).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub min_replicas: u32,
    /// maxReplicaCount. For session triggers, more replicas than concurrently active
    /// sessions ÷ max_concurrent_sessions only sit idle.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_replicas: u32,
    /// The active messages per replica KEDA aims for, for every trigger. Default, per
    /// entity: max_concurrent_sessions × --messages-per-session for session triggers (a
    /// replica works at most max_concurrent_sessions sessions at once, one message at a time
    /// each), max_concurrent_calls otherwise.
    #[arg(long, value_name = "N")]
    pub message_count: Option<u32>,
    /// The typical backlog of one session, for the default --message-count.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub messages_per_session: u32,
    /// Read connection strings from this Kubernetes Secret (key: the connection setting's
    /// name) through a TriggerAuthentication, instead of connectionFromEnv.
    #[arg(long, value_name = "SECRET")]
    pub secret: Option<String>,
    /// The workload identity's client id, for identity-based connections. Default: the
    /// service account's.
    #[arg(long, value_name = "CLIENT_ID")]
    pub identity_id: Option<String>,
}

/// Runs `host deploy`.
pub(crate) fn run(args: DeployArgs) -> ExitCode {
    match args.target {
        DeployTarget::Keda(args) => keda(args),
    }
}

fn keda(args: KedaArgs) -> ExitCode {
    let loaded = match load(&args.files) {
        Ok(loaded) => loaded,
        Err(errors) => {
            report(&errors);
            return ExitCode::FAILURE;
        }
    };
    let options = KedaOptions {
        name: args.name.unwrap_or_else(|| args.deployment.clone()),
        deployment: args.deployment,
        namespace: args.namespace,
        min_replicas: args.min_replicas,
        max_replicas: args.max_replicas,
        message_count: args.message_count,
        messages_per_session: args.messages_per_session,
        secret: args.secret,
        identity_id: args.identity_id,
    };
    match keda_manifest(&loaded.functions, &loaded.settings, &options) {
        Ok(yaml) => {
            print!("{yaml}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
