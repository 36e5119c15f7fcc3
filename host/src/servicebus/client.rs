//! [`ServiceBusClient`]: one AMQP connection per connection string, shared by every trigger
//! and sender on it, re-established after it is lost.
//!
//! Reconnecting: the first caller that finds the connection gone reconnects while the others
//! wait for the same attempt; attempts back off exponentially with jitter (100 ms doubling
//! to 30 s) and each one is logged. Receivers whose links died report a connection error;
//! their pumps end, and the next accept or receive runs on the new connection.

use std::sync::Arc;
use std::time::Duration;

use berth::{ErrorKind, ServiceBusError};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::acceptor::AmqpSessionSource;
use super::connection::{Connection, Endpoint};
use super::message_receiver::AmqpMessageSource;
use super::sender::Sender;
use super::target::ConnectionTarget;
use crate::backoff::Backoff;
use crate::ops::ConnectionProbe;
use crate::runtime::ReceiverSettings;

/// How a client's connections behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// A connection on which no frame (not even a heartbeat) arrived for this long is
    /// declared dead and replaced; half of it is announced to the broker as the AMQP
    /// idle-time-out, so it sends heartbeats at least that often. Default 60 s (`host.toml`
    /// `[service_bus] connection_idle_timeout`).
    pub idle_timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// A Service Bus namespace client. Cheap to clone; clones share the connection.
#[derive(Clone)]
pub struct ServiceBusClient {
    inner: Arc<Inner>,
}

struct Inner {
    endpoint: Arc<Endpoint>,
    current: tokio::sync::Mutex<Option<Arc<Connection>>>,
    closed: CancellationToken,
    probe: Arc<ConnectionProbe>,
}

impl ServiceBusClient {
    /// A client for a connection string or an identity-based connection
    /// ([`ConnectionTarget`]); nothing is dialled until first use.
    pub fn new(target: impl Into<ConnectionTarget>) -> Self {
        ServiceBusClient::with_options(target, ClientOptions::default())
    }

    /// [`new`](Self::new) with these [`ClientOptions`].
    pub fn with_options(target: impl Into<ConnectionTarget>, options: ClientOptions) -> Self {
        ServiceBusClient {
            inner: Arc::new(Inner {
                endpoint: Arc::new(Endpoint::new(target.into(), options.idle_timeout)),
                current: tokio::sync::Mutex::new(None),
                closed: CancellationToken::new(),
                probe: Arc::default(),
            }),
        }
    }

    /// A client whose first connection is opened now, so that a wrong host or port fails at
    /// start-up instead of in a retry loop. (Tokens are put when links first need them; a
    /// token credential that fails then is retried by the triggers with backoff.)
    pub async fn connect(target: impl Into<ConnectionTarget>) -> Result<Self, ServiceBusError> {
        ServiceBusClient::connect_with(target, ClientOptions::default()).await
    }

    /// [`connect`](Self::connect) with these [`ClientOptions`].
    pub async fn connect_with(
        target: impl Into<ConnectionTarget>,
        options: ClientOptions,
    ) -> Result<Self, ServiceBusError> {
        let client = ServiceBusClient::with_options(target, options);
        let connection = Connection::open(client.inner.endpoint.clone()).await?;
        info!(endpoint = %client.inner.endpoint.address(), "connected to Service Bus");
        client.watch(&connection);
        *client.inner.current.lock().await = Some(connection);
        Ok(client)
    }

    /// Where and how the client connects.
    pub fn target(&self) -> &ConnectionTarget {
        &self.inner.endpoint.target
    }

    /// A session source on the session-enabled entity at `path` (`queue`,
    /// `topic/Subscriptions/sub`), each accepted session's receiver prefetching up to
    /// `prefetch_count` messages.
    pub fn session_source(&self, path: &str, prefetch_count: u32) -> Arc<AmqpSessionSource> {
        Arc::new(AmqpSessionSource::new(
            self.clone(),
            path.to_owned(),
            prefetch_count,
        ))
    }

    /// A message source on the entity at `path`, without sessions.
    pub fn message_source(&self, path: &str, settings: ReceiverSettings) -> Arc<AmqpMessageSource> {
        Arc::new(AmqpMessageSource::new(
            self.clone(),
            path.to_owned(),
            settings,
        ))
    }

    /// A sender to a queue or topic (attached on first send).
    pub fn sender(&self, entity: &str) -> Sender {
        Sender::new(self.clone(), entity.to_owned())
    }

    /// What the client reports about its connection (for `/readyz` and the reconnect
    /// count).
    pub fn probe(&self) -> &Arc<ConnectionProbe> {
        &self.inner.probe
    }

    /// Reports `connection` as open now, and as lost as soon as it is.
    fn watch(&self, connection: &Arc<Connection>) {
        let number = self.inner.probe.connected();
        let (connection, probe) = (connection.clone(), self.inner.probe.clone());
        tokio::spawn(async move {
            connection.lost().await;
            probe.lost(Some(number));
        });
    }

    /// Closes the connection; later calls fail with a connection error.
    pub async fn close(&self) {
        self.inner.closed.cancel();
        self.inner.probe.closed();
        if let Some(connection) = self.inner.current.lock().await.take() {
            connection.close().await;
        }
    }

    /// Whether [`close`](Self::close) was called.
    pub fn is_closed(&self) -> bool {
        self.inner.closed.is_cancelled()
    }

    pub(crate) fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// The live connection, reconnecting (with backoff, until the client is closed) when
    /// there is none.
    pub(crate) async fn connection(&self) -> Result<Arc<Connection>, ServiceBusError> {
        let mut current = self.inner.current.lock().await;
        if let Some(connection) = current.as_ref() {
            if !connection.is_lost() {
                return Ok(connection.clone());
            }
            warn!(endpoint = %self.inner.endpoint.address(), "the connection to Service Bus was lost; reconnecting");
            self.inner.probe.lost(None);
            *current = None;
        }
        let mut backoff = Backoff::default();
        let mut attempt = 0u32;
        loop {
            if self.inner.closed.is_cancelled() {
                return Err(closed());
            }
            attempt += 1;
            match Connection::open(self.inner.endpoint.clone()).await {
                Ok(connection) => {
                    info!(endpoint = %self.inner.endpoint.address(), attempt, "connected to Service Bus");
                    self.watch(&connection);
                    *current = Some(connection.clone());
                    return Ok(connection);
                }
                Err(e) => {
                    self.inner.probe.reconnecting(attempt, &e);
                    let delay = backoff.next_delay();
                    warn!(
                        endpoint = %self.inner.endpoint.address(),
                        attempt,
                        error = %e,
                        retry_in_ms = delay.as_millis() as u64,
                        "connecting to Service Bus failed"
                    );
                    tokio::select! {
                        _ = self.inner.closed.cancelled() => return Err(closed()),
                        _ = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }
}

fn closed() -> ServiceBusError {
    ServiceBusError::new(ErrorKind::Connection, "the Service Bus client is closed")
}
