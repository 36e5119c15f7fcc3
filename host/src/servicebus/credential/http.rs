//! The few HTTP requests token credentials make: one HTTP/1.1 request per connection (tokens
//! are fetched about once an hour, so nothing is pooled) over hyper's client connection, with
//! TLS (rustls, ring, the web PKI roots and the client's extra CAs) for `https` and plain TCP
//! for `http`.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::TlsConnector;

use crate::servicebus::trust::{self, TlsTrust};

/// How long one request may take, from dialling to the last byte of the body.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest response body read (token responses are a few KiB).
const MAX_BODY: usize = 256 * 1024;

/// A response: status and body.
#[derive(Debug)]
pub(crate) struct Response {
    /// The HTTP status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// A request to send.
pub(crate) struct Call<'a> {
    /// `GET` or `POST`.
    pub method: Method,
    /// The absolute `http://` or `https://` URL.
    pub url: &'a str,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// A form body (`application/x-www-form-urlencoded`), for `POST`.
    pub form: Option<String>,
    /// The CAs `https` trusts.
    pub trust: &'a TlsTrust,
}

/// Sends `call`; the error says which step failed (never the request body: it holds secrets).
pub(crate) async fn send(call: Call<'_>) -> Result<Response, String> {
    match tokio::time::timeout(REQUEST_TIMEOUT, exchange(call)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "no response within {} s",
            REQUEST_TIMEOUT.as_secs()
        )),
    }
}

async fn exchange(call: Call<'_>) -> Result<Response, String> {
    let uri: Uri = call
        .url
        .parse()
        .map_err(|e| format!("bad URL {}: {e}", call.url))?;
    let tls = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        _ => return Err(format!("{} is not an http(s) URL", call.url)),
    };
    let host = uri
        .host()
        .ok_or_else(|| format!("{} has no host", call.url))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_else(|| host.clone());
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();

    let mut builder = Request::builder()
        .method(call.method)
        .uri(path)
        .header(HOST, authority);
    for (name, value) in call.headers {
        let value =
            HeaderValue::from_str(&value).map_err(|_| format!("bad value for header {name}"))?;
        builder = builder.header(HeaderName::from_static(name), value);
    }
    let body = match call.form {
        Some(form) => {
            builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            Full::new(Bytes::from(form))
        }
        None => Full::new(Bytes::new()),
    };
    let request = builder
        .body(body)
        .map_err(|e| format!("building the request failed: {e}"))?;

    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("connecting to {host}:{port} failed: {e}"))?;
    let _ = tcp.set_nodelay(true);
    if tls {
        let name = ServerName::try_from(host.clone())
            .map_err(|e| format!("bad TLS server name {host}: {e}"))?;
        let config = call.trust.client_config().map_err(|e| e.message)?;
        let stream = TlsConnector::from(config)
            .connect(name, tcp)
            .await
            .map_err(|e| trust::handshake_error(&format!("{host}:{port}"), &e))?;
        round_trip(stream, request).await
    } else {
        round_trip(tcp, request).await
    }
}

async fn round_trip<S>(stream: S, request: Request<Full<Bytes>>) -> Result<Response, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("sending the request failed: {e}"))?;
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the response failed: {e}"))?
            .to_bytes();
        Ok(Response { status, body })
    }
    .await;
    driver.abort();
    result
}
