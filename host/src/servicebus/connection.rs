//! One AMQP connection to a namespace: TCP (`TCP_NODELAY`), TLS first for Service Bus (rustls
//! with the web PKI roots and any CA the user added, see `trust`; port 5671) or plain TCP for the development emulator, SASL
//! ANONYMOUS, then the `$cbs` link pair that authorises every link opened on it.
//!
//! Links get their own AMQP session each ([`Connection::begin_session`]); `$management` link
//! pairs are opened once per entity and shared.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp::connection::ConnectionHandle;
use fe2o3_amqp::sasl_profile::SaslProfile;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp::{Connection as AmqpConnection, Session};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use super::cbs::Cbs;
use super::credential::TokenProvider;
use super::errors;
use super::management::Management;
use super::request_link::RequestLink;
use super::target::ConnectionTarget;
use super::token_source::TokenSource;
use super::trust::{self, TlsTrust};
use super::verdict::{LinkWatch, VerdictTap, Verdicts};

/// How long dialling, TLS, SASL and Open may take together.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);

/// What every connection of one client shares: the target, its token source and a name
/// source.
pub(crate) struct Endpoint {
    /// Where and how to connect.
    pub target: ConnectionTarget,
    tokens: TokenSource,
    container_id: String,
    names: AtomicU64,
    /// The AMQP idle timeout announced on every connection (see [`open_amqp`]).
    idle_timeout: Duration,
    /// The CAs TLS connections trust.
    trust: TlsTrust,
}

impl Endpoint {
    /// An endpoint for `target` whose connections are declared dead after `idle_timeout`
    /// without a frame from the broker, and whose TLS connections trust `trust`.
    pub fn new(target: ConnectionTarget, idle_timeout: Duration, trust: TlsTrust) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tokens = match &target {
            ConnectionTarget::ConnectionString(cs) => TokenSource::Sas(cs.credential.clone()),
            ConnectionTarget::Identity(identity) => {
                let provider = TokenProvider::new(identity.credential.clone());
                TokenSource::Identity(Arc::new(provider.trusting(trust.clone())))
            }
        };
        Endpoint {
            target,
            tokens,
            container_id: format!("berth-{}-{nanos:x}", std::process::id()),
            names: AtomicU64::new(0),
            idle_timeout,
            trust,
        }
    }

    /// A link name unique within this process: `<container>-<kind>-<n>`.
    pub fn link_name(&self, kind: &str) -> String {
        let n = self.names.fetch_add(1, Ordering::Relaxed);
        format!("{}-{kind}-{n}", self.container_id)
    }

    /// `host:port`, for logs.
    pub fn address(&self) -> String {
        format!("{}:{}", self.target.host(), self.target.port())
    }
}

/// An open connection.
pub(crate) struct Connection {
    handle: tokio::sync::Mutex<ConnectionHandle<()>>,
    cbs: Arc<Cbs>,
    management: Mutex<HashMap<String, Management>>,
    endpoint: Arc<Endpoint>,
    verdicts: Arc<Verdicts>,
}

impl Connection {
    /// Dials, negotiates and opens the connection and its `$cbs` link pair.
    pub async fn open(endpoint: Arc<Endpoint>) -> Result<Arc<Connection>, ServiceBusError> {
        let verdicts = Arc::new(Verdicts::default());
        let mut handle = tokio::time::timeout(OPEN_TIMEOUT, open_amqp(&endpoint, &verdicts))
            .await
            .map_err(|_| {
                ServiceBusError::new(
                    ErrorKind::Timeout,
                    format!("connecting took longer than {} s", OPEN_TIMEOUT.as_secs()),
                )
            })??;
        let session = Session::begin(&mut handle)
            .await
            .map_err(|e| errors::from_begin(&e))?;
        let cbs = Cbs::open(session, endpoint.tokens.clone(), &endpoint.link_name("cbs")).await?;
        Ok(Arc::new(Connection {
            handle: tokio::sync::Mutex::new(handle),
            cbs,
            management: Mutex::new(HashMap::new()),
            endpoint,
            verdicts,
        }))
    }

    /// Whether the connection is gone (its `$cbs` link pair stopped).
    pub fn is_lost(&self) -> bool {
        self.cbs.link().is_closed()
    }

    /// Waits until the connection is gone (its `$cbs` link pair stopped).
    pub async fn lost(&self) {
        self.cbs.link().closed().await
    }

    /// Follows the settlement verdicts of the link named `name` (call before attaching it).
    pub fn watch_verdicts(&self, name: &str) -> LinkWatch {
        self.verdicts.watch(name)
    }

    /// Begins a new AMQP session.
    pub async fn begin_session(&self) -> Result<SessionHandle<()>, ServiceBusError> {
        let mut handle = self.handle.lock().await;
        Session::begin(&mut handle)
            .await
            .map_err(|e| errors::from_begin(&e))
    }

    /// Puts a token for `path` (an entity or `<entity>/$management`) unless already done.
    pub async fn authorize(&self, path: &str) -> Result<(), ServiceBusError> {
        let audience = self.endpoint.target.audience(path);
        self.cbs.authorize(&audience).await
    }

    /// The `$management` node of `entity`, opened on first use.
    pub async fn management(&self, entity: &str) -> Result<Management, ServiceBusError> {
        if let Some(m) = self.cached(entity) {
            return Ok(m);
        }
        let node = format!("{entity}/$management");
        self.authorize(&node).await?;
        let session = self.begin_session().await?;
        let link = RequestLink::open(session, &node, &self.endpoint.link_name("mgmt")).await?;
        let management = Management::new(link);
        self.lock().insert(entity.to_owned(), management.clone());
        Ok(management)
    }

    fn cached(&self, entity: &str) -> Option<Management> {
        self.lock().get(entity).filter(|m| !m.is_closed()).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Management>> {
        self.management
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the connection (its sessions and links end with it).
    pub async fn close(&self) {
        let mut handle = self.handle.lock().await;
        let _ = tokio::time::timeout(Duration::from_secs(5), handle.close()).await;
    }
}

/// Opens the AMQP connection; the broker's side of the stream is followed for settlement
/// verdicts (`verdict::VerdictTap`).
async fn open_amqp(
    endpoint: &Endpoint,
    verdicts: &Arc<Verdicts>,
) -> Result<ConnectionHandle<()>, ServiceBusError> {
    let target = &endpoint.target;
    let host = target.host();
    let tcp = TcpStream::connect((host, target.port()))
        .await
        .map_err(|e| connection_error(endpoint, "TCP connect", &e))?;
    tcp.set_nodelay(true)
        .map_err(|e| connection_error(endpoint, "setting TCP_NODELAY", &e))?;
    let builder = AmqpConnection::builder()
        .container_id(endpoint.container_id.as_str())
        .hostname(host)
        .sasl_hostname(host)
        .sasl_profile(SaslProfile::Anonymous)
        // Every accepted session is an AMQP session on this connection: let the broker's
        // channel-max decide (fe2o3-amqp would cap it at 256).
        .channel_max(u16::MAX)
        // fe2o3-amqp announces half of this, so the broker sends something (a heartbeat at
        // least) that often, and declares the connection dead after the whole of it without
        // a frame: a connection that went silent (a NAT or load balancer dropped it, a black
        // hole) is found and replaced instead of on its next use.
        .idle_time_out(idle_timeout_ms(endpoint.idle_timeout))
        .scheme("amqp");
    let opened = if target.uses_tls() {
        let server_name = ServerName::try_from(host.to_owned()).map_err(|e| {
            ServiceBusError::new(ErrorKind::Connection, format!("bad TLS server name: {e}"))
        })?;
        let tls = TlsConnector::from(endpoint.trust.client_config()?)
            .connect(server_name, tcp)
            .await
            .map_err(|e| {
                ServiceBusError::new(
                    ErrorKind::Connection,
                    trust::handshake_error(&endpoint.address(), &e),
                )
            })?;
        builder
            .open_with_stream(VerdictTap::new(tls, verdicts.clone()))
            .await
    } else {
        builder
            .open_with_stream(VerdictTap::new(tcp, verdicts.clone()))
            .await
    };
    opened.map_err(|e| {
        ServiceBusError::new(
            ErrorKind::Connection,
            format!(
                "opening the AMQP connection to {} failed: {e}",
                endpoint.address()
            ),
        )
    })
}

/// `timeout` in AMQP milliseconds (the settings keep it between 1 s and 24 h; anything
/// longer is capped).
fn idle_timeout_ms(timeout: Duration) -> u32 {
    u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX)
}

fn connection_error(endpoint: &Endpoint, step: &str, e: &std::io::Error) -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Connection,
        format!("{step} to {} failed: {e}", endpoint.address()),
    )
}
