//! A TCP listener that serves every accepted connection on its own task.

use std::{io, net::SocketAddr, sync::Arc};

use tokio::{
    net::{TcpListener, ToSocketAddrs},
    task::JoinHandle,
};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{
    admission::{too_many_connections, Admitted, ConnectionCount, Refusal, MAX_REFUSING},
    config::ConnectionConfig,
    connection::serve_connection_by,
    handler::ConnectionHandler,
};

/// Accepts TCP connections (with `TCP_NODELAY`) and serves each with a fresh handler
/// from the factory, at most [`ConnectionConfig::max_connections`] at once (the next one is
/// closed with `amqp:resource-limit-exceeded`). Dropping the listener stops accepting;
/// [`Listener::shutdown`] also closes the open connections, and [`Listener::closed`] waits
/// until they are.
#[derive(Debug)]
pub struct Listener {
    local_addr: SocketAddr,
    shutdown: CancellationToken,
    accept_task: JoinHandle<()>,
    connections: TaskTracker,
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port; see [`Listener::local_addr`]) and starts
    /// accepting. `new_handler` gets the client's address for each connection.
    pub async fn bind<A, F, H>(
        addr: A,
        config: Arc<ConnectionConfig>,
        new_handler: F,
    ) -> io::Result<Self>
    where
        A: ToSocketAddrs,
        F: FnMut(SocketAddr) -> H + Send + 'static,
        H: ConnectionHandler,
    {
        Self::bind_with(addr, config, None, new_handler).await
    }

    /// Like [`Listener::bind`], but TLS first: every connection starts with a TLS handshake
    /// (as Azure Service Bus serves AMQPS on 5671), then AMQP runs inside it. A failed
    /// handshake closes that connection only.
    pub async fn bind_tls<A, F, H>(
        addr: A,
        config: Arc<ConnectionConfig>,
        tls: tokio_rustls::TlsAcceptor,
        new_handler: F,
    ) -> io::Result<Self>
    where
        A: ToSocketAddrs,
        F: FnMut(SocketAddr) -> H + Send + 'static,
        H: ConnectionHandler,
    {
        Self::bind_with(addr, config, Some(tls), new_handler).await
    }

    async fn bind_with<A, F, H>(
        addr: A,
        config: Arc<ConnectionConfig>,
        tls: Option<tokio_rustls::TlsAcceptor>,
        mut new_handler: F,
    ) -> io::Result<Self>
    where
        A: ToSocketAddrs,
        F: FnMut(SocketAddr) -> H + Send + 'static,
        H: ConnectionHandler,
    {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let connections = TaskTracker::new();
        let tracker = connections.clone();
        let live = ConnectionCount::default();
        let refusing = ConnectionCount::default();
        let accept_task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    () = token.cancelled() => break,
                    accepted = listener.accept() => accepted,
                };
                let (socket, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Per-connection failures (e.g. reset before accept, fd limits) must
                        // not stop the listener.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        continue;
                    }
                };
                if let Err(e) = socket.set_nodelay(true) {
                    tracing::debug!(error = %e, %peer, "could not set TCP_NODELAY");
                }
                let config = config.clone();
                let child = token.child_token();
                let tls = tls.clone();
                let max = config.max_connections;
                if let Some(admitted) = live.try_admit(max) {
                    let handler = new_handler(peer);
                    tracker.spawn(serve_accepted(
                        socket, tls, config, handler, child, admitted,
                    ));
                } else if let Some(admitted) = refusing.try_admit(MAX_REFUSING) {
                    tracing::warn!(%peer, max_connections = max, "connection refused: the broker serves its maximum number of connections");
                    let refusal = Refusal {
                        error: too_many_connections(max),
                    };
                    tracker.spawn(serve_accepted(
                        socket, tls, config, refusal, child, admitted,
                    ));
                } else {
                    tracing::warn!(%peer, max_connections = max, "connection dropped: the broker serves its maximum number of connections and is refusing many more");
                }
            }
        });
        Ok(Self {
            local_addr,
            shutdown,
            accept_task,
            connections,
        })
    }

    /// The bound address (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and closes every connection with `amqp:connection:forced`.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// After [`Listener::shutdown`]: waits until every connection task has ended (each
    /// has run its handler's close, which releases what the connection held).
    pub async fn closed(&self) {
        self.connections.close();
        self.connections.wait().await;
    }
}

/// Serves one accepted socket: the TLS handshake (if any) and the AMQP handshake must end
/// within [`ConnectionConfig::handshake_timeout`] of the accept. `admitted` holds the
/// connection's slot until it ends.
async fn serve_accepted<H: ConnectionHandler>(
    socket: tokio::net::TcpStream,
    tls: Option<tokio_rustls::TlsAcceptor>,
    config: Arc<ConnectionConfig>,
    handler: H,
    shutdown: CancellationToken,
    admitted: Admitted,
) {
    let deadline = tokio::time::Instant::now() + config.handshake_timeout;
    match tls {
        None => serve_connection_by(socket, config, handler, shutdown, deadline).await,
        Some(tls) => {
            let peer = socket.peer_addr().ok();
            match tokio::time::timeout_at(deadline, tls.accept(socket)).await {
                Ok(Ok(stream)) => {
                    serve_connection_by(stream, config, handler, shutdown, deadline).await;
                }
                Ok(Err(e)) => tracing::debug!(error = %e, ?peer, "TLS handshake failed"),
                Err(_) => tracing::info!(?peer, "TLS handshake timed out"),
            }
        }
    }
    drop(admitted);
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}
