//! A fake token endpoint on loopback for identity-based connection tests: Entra ID's token
//! endpoint (`POST /<tenant>/oauth2/v2.0/token`, client-secret and client-assertion grants)
//! and the managed identity endpoints (App Service `GET /msi/token` with
//! `X-IDENTITY-HEADER`, IMDS `GET /metadata/identity/oauth2/token` with `Metadata: true`).
//! It hands out unsigned JWTs (aud Service Bus, short `exp`) that the emulator accepts with
//! `dev_jwt(true)`, records every request, and can be told to refuse.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::json;
use tokio::sync::Notify;

/// The `X-IDENTITY-HEADER` value the fake App Service endpoint expects.
pub const IDENTITY_HEADER: &str = "fake-identity-header";

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET` or `POST`.
    pub method: String,
    /// The path.
    pub path: String,
    /// Query and form parameters, decoded.
    pub params: BTreeMap<String, String>,
    /// Headers, names lower-cased.
    pub headers: BTreeMap<String, String>,
}

struct State {
    requests: Mutex<Vec<Recorded>>,
    lifetime_s: AtomicU64,
    fail_status: AtomicU16,
    audience: Mutex<String>,
    issued: AtomicU64,
    changed: Notify,
}

/// The running fake.
pub struct FakeTokenEndpoint {
    addr: SocketAddr,
    /// Whether it serves HTTPS (as `localhost`).
    tls: bool,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeTokenEndpoint {
    /// Starts the fake on a free loopback port; tokens live an hour until told otherwise.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// [`start`](Self::start), serving HTTPS with `acceptor`'s certificate (for `localhost`).
    pub async fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> Self {
        Self::start_with(Some(acceptor)).await
    }

    async fn start_with(acceptor: Option<tokio_rustls::TlsAcceptor>) -> Self {
        let tls = acceptor.is_some();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            lifetime_s: AtomicU64::new(3600),
            fail_status: AtomicU16::new(0),
            audience: Mutex::new("https://servicebus.azure.net".into()),
            issued: AtomicU64::new(0),
            changed: Notify::new(),
        });
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(state.clone(), req));
                    let http = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                        Some(acceptor) => {
                            if let Ok(tls) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                    }
                });
            }
        });
        FakeTokenEndpoint {
            addr,
            tls,
            state,
            task,
        }
    }

    /// `http://127.0.0.1:<port>` (or `https://localhost:<port>`): the authority host, and
    /// the IMDS host.
    pub fn url(&self) -> String {
        if self.tls {
            format!("https://localhost:{}", self.addr.port())
        } else {
            format!("http://{}", self.addr)
        }
    }

    /// Tokens issued from now on live `secs` seconds.
    pub fn set_lifetime(&self, secs: u64) {
        self.state.lifetime_s.store(secs, Ordering::SeqCst);
    }

    /// Refuse every request with `status` (an OAuth `invalid_client` error).
    pub fn fail_with(&self, status: u16) {
        self.state.fail_status.store(status, Ordering::SeqCst);
    }

    /// Answer normally again.
    pub fn succeed(&self) {
        self.state.fail_status.store(0, Ordering::SeqCst);
    }

    /// Issue tokens with this `aud` from now on.
    pub fn set_audience(&self, audience: &str) {
        *self.state.audience.lock().unwrap() = audience.to_owned();
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) until at least `n` requests have arrived; returns them all.
    pub async fn wait_for_requests(&self, n: usize, limit: Duration) -> Vec<Recorded> {
        let wait = async {
            loop {
                let changed = self.state.changed.notified();
                let requests = self.requests();
                if requests.len() >= n {
                    return requests;
                }
                changed.await;
            }
        };
        match tokio::time::timeout(limit, wait).await {
            Ok(requests) => requests,
            Err(_) => panic!(
                "expected {n} token requests within {limit:?}; got {:?}",
                self.requests()
            ),
        }
    }
}

impl Drop for FakeTokenEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let path = req.uri().path().to_owned();
    let mut params = decode_pairs(req.uri().query().unwrap_or_default());
    let headers: BTreeMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    params.extend(decode_pairs(&String::from_utf8_lossy(&body)));
    let recorded = Recorded {
        method,
        path,
        params,
        headers,
    };
    let response = answer(&state, &recorded);
    state.requests.lock().unwrap().push(recorded);
    state.changed.notify_waiters();
    Ok(response)
}

fn answer(state: &State, r: &Recorded) -> Response<Full<Bytes>> {
    let status = state.fail_status.load(Ordering::SeqCst);
    if status != 0 {
        return reply(
            status,
            json!({"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: fake"}),
        );
    }
    let param = |k: &str| r.params.get(k).map(String::as_str);
    let header = |k: &str| r.headers.get(k).map(String::as_str);
    let bad = |why: &str| {
        reply(
            400,
            json!({"error": "invalid_request", "error_description": why}),
        )
    };
    let lifetime = state.lifetime_s.load(Ordering::SeqCst);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let n = state.issued.fetch_add(1, Ordering::SeqCst);
    let audience = state.audience.lock().unwrap().clone();
    let token = berth_emulator::node::dev_jwt::unsigned(
        &json!({"aud": audience, "exp": now + lifetime, "oid": format!("fake-{n}")}),
    );
    if r.method == "POST" && r.path.ends_with("/oauth2/v2.0/token") {
        if param("grant_type") != Some("client_credentials") {
            return bad("grant_type must be client_credentials");
        }
        if param("scope") != Some("https://servicebus.azure.net/.default") {
            return bad("wrong scope");
        }
        let secret = param("client_secret").is_some();
        let assertion = param("client_assertion").is_some()
            && param("client_assertion_type")
                == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        if param("client_id").is_none() || secret == assertion {
            return bad("need client_id and one of client_secret / client_assertion");
        }
        return reply(
            200,
            json!({"token_type": "Bearer", "expires_in": lifetime, "access_token": token}),
        );
    }
    let managed = match r.path.as_str() {
        "/msi/token" => header("x-identity-header") == Some(IDENTITY_HEADER),
        "/metadata/identity/oauth2/token" => header("metadata") == Some("true"),
        _ => return bad("unknown path"),
    };
    if r.method != "GET" || !managed || param("resource") != Some("https://servicebus.azure.net") {
        return bad("managed identity: GET with the identity header and resource");
    }
    reply(
        200,
        json!({"access_token": token, "expires_on": (now + lifetime).to_string(),
               "resource": "https://servicebus.azure.net", "token_type": "Bearer"}),
    )
}

fn reply(status: u16, body: serde_json::Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// `a=1&b=x%2By` → pairs, `+` as space, `%XX` decoded.
fn decode_pairs(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}
