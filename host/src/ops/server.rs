//! The ops HTTP/1.1 listener (hyper): `GET /healthz`, `/readyz`, `/metrics`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use super::Ops;

/// How long a client may take to send its request headers.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes of request a connection may buffer (these routes take no body).
const MAX_REQUEST_BUFFER: usize = 16 * 1024;
/// The content type of `/metrics` (what `prometheus_client` writes).
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
const PLAIN: &str = "text/plain; charset=utf-8";

/// A running ops listener; [`OpsServer::shutdown`] stops it.
#[derive(Debug)]
pub struct OpsServer {
    local_addr: SocketAddr,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

/// Why the ops listener could not start.
#[derive(Debug)]
pub struct OpsError {
    /// The address asked for.
    pub address: SocketAddr,
    /// Why binding failed.
    pub error: std::io::Error,
}

impl std::fmt::Display for OpsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "cannot listen on {} for [ops]: {}",
            self.address, self.error
        )
    }
}

impl std::error::Error for OpsError {}

impl OpsServer {
    /// Listens on `address` (port 0 picks one) and serves `ops` until shut down.
    pub async fn start(address: SocketAddr, ops: Ops) -> Result<OpsServer, OpsError> {
        let bound = TcpListener::bind(address).await;
        let listener = bound.map_err(|error| OpsError { address, error })?;
        let local_addr = listener
            .local_addr()
            .map_err(|error| OpsError { address, error })?;
        let stop = CancellationToken::new();
        let task = tokio::spawn(serve(listener, ops, stop.clone()));
        info!(address = %local_addr, "ops listener serving /healthz, /readyz and /metrics");
        Ok(OpsServer {
            local_addr,
            stop,
            task,
        })
    }

    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops listening and closes the open connections.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn serve(listener: TcpListener, ops: Ops, stop: CancellationToken) {
    let mut connections = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                connections.spawn(connection(stream, peer, ops.clone(), stop.clone()));
            }
            Err(e) => {
                // E.g. out of file descriptors: wait instead of spinning.
                warn!(error = %e, "ops listener: accepting a connection failed");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        }
    }
    connections.shutdown().await;
}

async fn connection(stream: TcpStream, peer: SocketAddr, ops: Ops, stop: CancellationToken) {
    if let Err(e) = stream.set_nodelay(true) {
        debug!(%peer, error = %e, "ops listener: setting TCP_NODELAY failed");
    }
    let service = service_fn(move |request| {
        let ops = ops.clone();
        async move { Ok::<_, Infallible>(respond(&ops, &request)) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_REQUEST_BUFFER);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = stop.cancelled() => {}
        result = served => if let Err(e) = result {
            debug!(%peer, error = %e, "ops connection ended with an error");
        },
    }
}

/// Answers one request.
fn respond(ops: &Ops, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = request.uri().path();
    if !matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return text(StatusCode::NOT_FOUND, "not found\n".to_owned());
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n".to_owned());
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n".to_owned()),
        "/readyz" => match ops.readiness.check() {
            Ok(()) => text(StatusCode::OK, "ready\n".to_owned()),
            Err(reasons) => {
                let mut body = reasons.join("\n");
                body.push('\n');
                text(StatusCode::SERVICE_UNAVAILABLE, body)
            }
        },
        _ => {
            let mut body = String::with_capacity(16 * 1024);
            match ops.metrics.encode(&mut body) {
                Ok(()) => {
                    let mut response = Response::new(Full::new(Bytes::from(body)));
                    response
                        .headers_mut()
                        .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
                    response
                }
                Err(_) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "encoding the metrics failed\n".to_owned(),
                ),
            }
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(PLAIN));
    response
}
