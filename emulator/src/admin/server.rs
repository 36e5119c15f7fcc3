//! The HTTP/1.1 listener of the admin API (hyper).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::entity::Namespace;

use super::{routes, AdminAccess, AdminLimits};

/// The most a request body may hold (entity options are small).
const MAX_BODY: usize = 64 * 1024;

/// A running admin API.
#[derive(Debug)]
pub struct AdminServer {
    local_addr: SocketAddr,
    stop: CancellationToken,
}

/// Why the admin API could not start.
#[derive(Debug)]
pub enum AdminError {
    /// The address could not be bound.
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why binding failed.
        error: std::io::Error,
    },
    /// Open (no SAS rule) on a non-loopback address without `allow_anonymous`.
    Exposed(crate::exposure::ExposureError),
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AdminError::Bind { address, error } => {
                write!(f, "cannot listen on {address} for the admin API: {error}")
            }
            AdminError::Exposed(error) => error.fmt(f),
        }
    }
}

impl std::error::Error for AdminError {}

impl AdminServer {
    /// Serves the admin API of `namespace` on `address` (port 0 picks one), requiring what
    /// `access` says (usually [`crate::broker::RunningBroker::admin_access`]), with the
    /// default [`AdminLimits`]. Without SAS rules a non-loopback address is refused unless
    /// `access.allow_anonymous`.
    pub async fn start(
        address: SocketAddr,
        namespace: Namespace,
        access: AdminAccess,
    ) -> Result<Self, AdminError> {
        Self::start_with(address, namespace, access, AdminLimits::default()).await
    }

    /// [`start`](Self::start) with these `limits`.
    pub async fn start_with(
        address: SocketAddr,
        namespace: Namespace,
        access: AdminAccess,
        limits: AdminLimits,
    ) -> Result<Self, AdminError> {
        let warn = crate::exposure::check(
            "admin API",
            address,
            access.open_reason(),
            access.allow_anonymous,
        )
        .map_err(AdminError::Exposed)?;
        let bind_error = |error| AdminError::Bind { address, error };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let stop = CancellationToken::new();
        let access = Arc::new(access);
        tokio::spawn(accept_loop(
            listener,
            namespace,
            access,
            limits,
            stop.clone(),
        ));
        info!(address = %local_addr, "admin API listening");
        if let Some(reason) = warn {
            crate::exposure::warn_open("admin API", local_addr, reason);
        }
        Ok(AdminServer { local_addr, stop })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections.
    pub fn shutdown(&self) {
        self.stop.cancel();
    }
}

impl Drop for AdminServer {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The body of the answer to a connection over [`AdminLimits::max_connections`]; the answer
/// is written by hand, as hyper is not involved for a connection the listener will not serve.
const BUSY: &str = r#"{"error":"the admin API serves at most its limit of connections at once; try again","condition":"com.microsoft:server-busy"}"#;

/// Answers 503 (with [`BUSY`]) and closes, within `limit`.
async fn refuse_busy(mut stream: tokio::net::TcpStream, limit: std::time::Duration) {
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BUSY}",
        BUSY.len()
    );
    let write = async {
        stream.write_all(answer.as_bytes()).await?;
        stream.shutdown().await
    };
    let _ = tokio::time::timeout(limit, write).await;
}

async fn accept_loop(
    listener: TcpListener,
    namespace: Namespace,
    access: Arc<AdminAccess>,
    limits: AdminLimits,
    stop: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // E.g. out of file descriptors: wait instead of spinning.
                    warn!(error = %e, "admin API accept failed");
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {}
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            warn!(%peer, max = limits.max_connections, "admin API connection refused: too many at once");
            tokio::spawn(refuse_busy(stream, limits.request_timeout));
            continue;
        };
        let namespace = namespace.clone();
        let access = access.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let timeout = limits.request_timeout;
            let service = service_fn(move |request| {
                handle(namespace.clone(), access.clone(), timeout, request)
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                _ = stop.cancelled() => {}
                result = connection => if let Err(e) = result {
                    debug!(%peer, error = %e, "admin API connection ended with an error");
                },
            }
        });
    }
}

async fn handle(
    namespace: Namespace,
    access: Arc<AdminAccess>,
    timeout: std::time::Duration,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let decoded = match routes::segments(path) {
        Ok(decoded) => decoded,
        Err(why) => {
            return Ok(routes::error_response(
                400,
                &why,
                "com.microsoft:argument-error",
            ))
        }
    };
    let segments: Vec<&str> = decoded.iter().map(String::as_str).collect();
    if let Err(why) = access.authorise(&parts.method, &segments, &parts.headers, SystemTime::now())
    {
        debug!(method = %parts.method, %path, %why, "admin request refused");
        return Ok(super::auth::unauthorized(&why));
    }
    let body = match tokio::time::timeout(timeout, Limited::new(body, MAX_BODY).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Err(_) => {
            return Ok(routes::error_response(
                408,
                &format!("the request body did not arrive within {timeout:?}"),
                "amqp:operation-timeout",
            ))
        }
        Ok(Err(_)) => {
            return Ok(routes::error_response(
                413,
                &format!("the request body is larger than {MAX_BODY} bytes"),
                "amqp:resource-limit-exceeded",
            ))
        }
    };
    Ok(routes::route(&namespace, &parts.method, &segments, &body).await)
}
