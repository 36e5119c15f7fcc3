//! The public broker: configure with [`Broker::builder`], [`BrokerBuilder::start`] it on an
//! address (port 0 picks one), point an SDK at [`RunningBroker::connection_string`], and
//! [`RunningBroker::shutdown`] it.
//!
//! ```no_run
//! # async fn run() -> Result<(), berth_emulator::broker::BrokerError> {
//! use berth_emulator::broker::Broker;
//!
//! let broker = Broker::builder()
//!     .address("127.0.0.1:0".parse().expect("address"))
//!     .entities_toml("[[queues]]\nname = \"orders\"\nrequires_session = true\n")?
//!     .sas_rule("RootManageSharedAccessKey", "secret")
//!     .start()
//!     .await?;
//! println!("{}", broker.connection_string());
//! broker.shutdown().await;
//! # Ok(()) }
//! ```

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::admin::AdminAccess;
use crate::amqp::{ConnectionConfig, Listener};
use crate::entity::{EntitiesConfig, EntityError, Namespace};
use crate::limits::Limits;
use crate::node::{NodeConfig, NodeHandler};
use crate::sas::SasRule;
use crate::store::StoreOptions;

/// The key name the official emulator's connection strings use (and ours, without rules).
pub const DEFAULT_KEY_NAME: &str = "RootManageSharedAccessKey";
/// The placeholder key of the official emulator (never checked without rules).
pub const DEFAULT_KEY: &str = "SAS_KEY_VALUE";

/// Entry point: [`Broker::builder`].
#[derive(Debug)]
pub struct Broker;

impl Broker {
    /// A builder with the defaults: `127.0.0.1:5672`, in memory, no entities, no SAS rules
    /// (development mode: tokens are not checked, like the official emulator).
    pub fn builder() -> BrokerBuilder {
        BrokerBuilder {
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5672),
            data_dir: None,
            store: StoreOptions::default(),
            entities: EntitiesConfig::default(),
            rules: Vec::new(),
            max_message_size: 256 * 1024,
            tls: None,
            dev_jwt: false,
            allow_anonymous: false,
            limits: Limits::default(),
        }
    }
}

/// Broker settings.
#[derive(Debug, Clone)]
pub struct BrokerBuilder {
    address: SocketAddr,
    data_dir: Option<PathBuf>,
    store: StoreOptions,
    entities: EntitiesConfig,
    rules: Vec<SasRule>,
    max_message_size: u64,
    tls: Option<crate::tls::TlsListen>,
    dev_jwt: bool,
    allow_anonymous: bool,
    limits: Limits,
}

impl BrokerBuilder {
    /// Where to listen (plain AMQP, as SDKs use with `UseDevelopmentEmulator=true`); port 0
    /// picks a free port.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Keep entities and messages in `dir` (created if needed) across restarts.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.data_dir = Some(dir.into());
        self
    }

    /// Tuning of the durable store (with [`data_dir`](Self::data_dir)).
    pub fn store_options(mut self, options: StoreOptions) -> Self {
        self.store = options;
        self
    }

    /// Keep everything in memory (the default).
    pub fn in_memory(mut self) -> Self {
        self.data_dir = None;
        self
    }

    /// The queues, topics and subscriptions to create at start (existing ones are kept).
    pub fn entities(mut self, entities: EntitiesConfig) -> Self {
        self.entities = entities;
        self
    }

    /// Like [`entities`](Self::entities), from TOML (`[[queues]]`, `[[topics]]` tables).
    pub fn entities_toml(self, toml: &str) -> Result<Self, BrokerError> {
        let entities = EntitiesConfig::from_toml(toml).map_err(BrokerError::Config)?;
        Ok(self.entities(entities))
    }

    /// Adds a SAS rule with every right (Listen, Send, Manage). With at least one rule,
    /// `$cbs` tokens must be signed by a rule's key and each operation needs its claim (see
    /// [`crate::rights`]); the first rule with Manage (else the first rule) goes into
    /// [`RunningBroker::connection_string`].
    pub fn sas_rule(self, name: impl Into<String>, key: impl Into<String>) -> Self {
        self.rule(SasRule::new(name, key))
    }

    /// Adds a SAS rule with its own rights (e.g. from [`crate::rights::parse_rule`]).
    pub fn rule(mut self, rule: SasRule) -> Self {
        self.rules.push(rule);
        self
    }

    /// Lets the broker listen on a non-loopback address while anyone may use it (no SAS rule,
    /// or development JWTs on). Off by default: [`start`](Self::start) then refuses such an
    /// address with [`BrokerError::Exposed`]. With it, a warning is logged at start naming the
    /// address. See [`crate::exposure`].
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = allow;
        self
    }

    /// Why anyone may use this broker (`None`: tokens are checked and signed by a rule).
    fn open_reason(&self) -> Option<&'static str> {
        if self.rules.is_empty() {
            Some("without SAS rules (no authentication)")
        } else if self.dev_jwt {
            Some("with development JWTs on (unsigned tokens are accepted)")
        } else {
            None
        }
    }

    /// Accept development JWTs on `$cbs` (default off): a JWT-shaped token is accepted when
    /// its `aud` is Service Bus and its `exp` lies ahead, **without checking its signature**,
    /// so that identity-based connections (token credentials) work against the emulator; a
    /// malformed, expired or foreign-audience JWT is refused (401). See
    /// [`crate::node::dev_jwt`]. For development and tests only.
    pub fn dev_jwt(mut self, on: bool) -> Self {
        self.dev_jwt = on;
        self
    }

    /// Largest message accepted, announced as `max-message-size` (default 256 KiB, like the
    /// official emulator and the Standard tier).
    pub fn max_message_size(mut self, bytes: u64) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Connection limits: concurrent connections, handshake time, frame size, sessions and
    /// links (see [`crate::limits`] for the defaults and what a client over a limit sees).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Also listen TLS-first on `address` (as Azure Service Bus serves AMQPS on 5671), with
    /// the certificate and key of `acceptor` (see [`crate::tls::acceptor`]).
    pub fn tls(mut self, address: SocketAddr, acceptor: tokio_rustls::TlsAcceptor) -> Self {
        self.tls = Some(crate::tls::TlsListen { address, acceptor });
        self
    }

    /// Opens the namespace, creates the configured entities and starts listening. An open
    /// broker (see [`allow_anonymous`](Self::allow_anonymous)) on a non-loopback address is
    /// refused before anything is opened.
    pub async fn start(self) -> Result<RunningBroker, BrokerError> {
        let open = self.open_reason();
        let allow = self.allow_anonymous;
        let exposure = |listener, address| {
            crate::exposure::check(listener, address, open, allow).map_err(BrokerError::Exposed)
        };
        let warn_amqp = exposure("AMQP listener", self.address)?;
        let warn_tls = match &self.tls {
            Some(tls) => exposure("AMQP TLS listener", tls.address)?,
            None => None,
        };
        let namespace = match &self.data_dir {
            Some(dir) => Namespace::open_with(dir, self.store.clone())
                .await
                .map_err(BrokerError::Store)?,
            None => Namespace::in_memory(),
        };
        namespace
            .apply_config(&self.entities)
            .map_err(BrokerError::Store)?
            .wait()
            .await
            .map_err(BrokerError::Store)?;
        let connection_string_key = self
            .rules
            .iter()
            .find(|r| r.rights.allows(crate::rights::Right::Manage))
            .or(self.rules.first())
            .map_or((DEFAULT_KEY_NAME.to_owned(), DEFAULT_KEY.to_owned()), |r| {
                (r.name.clone(), r.key.clone())
            });
        let admin = AdminAccess {
            rules: self.rules.clone().into(),
            allow_anonymous: self.allow_anonymous,
        };
        let mut node = NodeConfig::new(namespace.clone(), self.rules);
        node.max_message_size = self.max_message_size;
        node.dev_jwt = self.dev_jwt;
        let node = Arc::new(node);
        let transfer_limit = usize::try_from(node.transfer_limit()).unwrap_or(usize::MAX);
        let mut connection = ConnectionConfig {
            max_message_size: node.transfer_limit(),
            // A few messages in flight at once per connection, at least 16 MiB.
            max_partial_bytes: transfer_limit.saturating_mul(4).max(16 << 20),
            ..ConnectionConfig::default()
        };
        self.limits.apply(&mut connection);
        let connection = Arc::new(connection);
        let tls_listener = match self.tls {
            Some(crate::tls::TlsListen { address, acceptor }) => {
                let node = node.clone();
                let listener =
                    Listener::bind_tls(address, connection.clone(), acceptor, move |peer| {
                        tracing::debug!(%peer, "TLS connection");
                        NodeHandler::new(node.clone())
                    })
                    .await
                    .map_err(|e| BrokerError::Bind { address, error: e })?;
                tracing::info!(address = %listener.local_addr(), "broker listening (TLS)");
                if let Some(reason) = warn_tls {
                    crate::exposure::warn_open("AMQP TLS listener", listener.local_addr(), reason);
                }
                Some(listener)
            }
            None => None,
        };
        let listener = Listener::bind(self.address, connection, move |peer| {
            tracing::debug!(%peer, "connection");
            NodeHandler::new(node.clone())
        })
        .await
        .map_err(|e| BrokerError::Bind {
            address: self.address,
            error: e,
        })?;
        tracing::info!(address = %listener.local_addr(), durable = namespace.is_durable(), "broker listening");
        if let Some(reason) = warn_amqp {
            crate::exposure::warn_open("AMQP listener", listener.local_addr(), reason);
        }
        Ok(RunningBroker {
            listener,
            tls_listener,
            namespace,
            key: connection_string_key,
            admin,
        })
    }
}

/// How long [`RunningBroker::shutdown`] waits for the connections to end.
pub const CONNECTION_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A started broker.
pub struct RunningBroker {
    listener: Listener,
    tls_listener: Option<Listener>,
    namespace: Namespace,
    key: (String, String),
    admin: AdminAccess,
}

impl fmt::Debug for RunningBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunningBroker")
            .field("local_addr", &self.local_addr())
            .finish_non_exhaustive()
    }
}

impl RunningBroker {
    /// The address the broker listens on (with the real port when started on port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr()
    }

    /// `Endpoint=sb://<ip>:<port>;SharedAccessKeyName=…;SharedAccessKey=…;UseDevelopmentEmulator=true`,
    /// what the official SDKs need to reach this broker over plain AMQP.
    pub fn connection_string(&self) -> String {
        let mut addr = self.local_addr();
        if addr.ip().is_unspecified() {
            addr.set_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        format!(
            "Endpoint=sb://{addr};SharedAccessKeyName={};SharedAccessKey={};UseDevelopmentEmulator=true",
            self.key.0, self.key.1
        )
    }

    /// The TLS-first listener's address, when one was asked for.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_listener.as_ref().map(Listener::local_addr)
    }

    /// What the admin API of this broker should require: its SAS rules (a Manage token) and
    /// whether it may be open off loopback; pass to [`crate::admin::AdminServer::start`].
    pub fn admin_access(&self) -> AdminAccess {
        self.admin.clone()
    }

    /// The entities, for inspection or for creating more at run time.
    pub fn namespace(&self) -> &Namespace {
        &self.namespace
    }

    /// Stops accepting, closes every connection and waits until each has ended (their
    /// session locks released, their last settlements applied; at most
    /// [`CONNECTION_CLOSE_WAIT`]), then until everything logged is on disk. Once this
    /// returns, nothing more is written: another broker may open the same data directory.
    pub async fn shutdown(self) {
        self.listener.shutdown();
        if let Some(tls) = &self.tls_listener {
            tls.shutdown();
        }
        let closed = async {
            self.listener.closed().await;
            if let Some(tls) = &self.tls_listener {
                tls.closed().await;
            }
        };
        if tokio::time::timeout(CONNECTION_CLOSE_WAIT, closed)
            .await
            .is_err()
        {
            tracing::warn!(
                wait_ms = CONNECTION_CLOSE_WAIT.as_millis() as u64,
                "connections still open at shutdown; flushing without them"
            );
        }
        if let Err(error) = self.namespace.flush().await {
            tracing::warn!(%error, "the log could not be flushed at shutdown");
        }
    }
}

/// Why a broker could not start.
#[derive(Debug)]
pub enum BrokerError {
    /// The entities configuration is invalid (the text has the line and column).
    Config(String),
    /// The namespace could not be opened or the entities could not be created.
    Store(EntityError),
    /// An open broker (no SAS rule, or development JWTs) on a non-loopback address without
    /// [`BrokerBuilder::allow_anonymous`].
    Exposed(crate::exposure::ExposureError),
    /// The address could not be bound.
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why.
        error: std::io::Error,
    },
}

impl fmt::Display for BrokerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(text) => write!(f, "invalid entities configuration: {text}"),
            Self::Store(error) => write!(f, "could not prepare the namespace: {error}"),
            Self::Exposed(error) => error.fmt(f),
            Self::Bind { address, error } => write!(f, "could not listen on {address}: {error}"),
        }
    }
}

impl std::error::Error for BrokerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(_) => None,
            Self::Store(error) => Some(error),
            Self::Exposed(error) => Some(error),
            Self::Bind { error, .. } => Some(error),
        }
    }
}
