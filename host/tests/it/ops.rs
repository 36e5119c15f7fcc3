//! The ops listener against a session trigger on the in-process broker: `/healthz`,
//! `/readyz` flipping when the broker goes away and comes back, and `/metrics` counting
//! exactly what was sent and settled.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{HandlerError, Message, SessionId};
use berth_host::ops::{Ops, OpsServer};
use berth_host::runtime::{acceptor, EntityGroup, TriggerSettings};
use berth_host::servicebus::ServiceBusClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

use crate::e2e_support;
use crate::servicebus_support;
use crate::wait;
use e2e_support::{n_of, session_queue, spec, wait_for_counts};
use servicebus_support::{client, msg, start_at};

const QUEUE: &str = "orders";
const FUNCTION: &str = "orders-function";
const LIMIT: Duration = Duration::from_secs(30);

/// One HTTP/1.1 exchange over a fresh connection: the status code and the body.
async fn request(address: SocketAddr, raw: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(raw.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (status, body.to_owned())
}

async fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let raw = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    request(address, &raw).await
}

/// Polls `path` until `done` holds on the answer; panics with the last answer after
/// `LIMIT`.
async fn poll(address: SocketAddr, path: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let done = &done;
    wait::poll(&format!("{path} to get there"), LIMIT, || async move {
        let (status, body) = get(address, path).await;
        if done(status, &body) {
            Ok(body)
        } else {
            Err(format!("{status}: {body}"))
        }
    })
    .await
}

/// The value of the sample `name{labels}` in an exposition, if present.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    let key = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{}}}", labels.join(","))
    };
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            (series == key).then(|| value.parse().unwrap())
        })
}

fn counter(text: &str, name: &str, key: &str, value: &str) -> f64 {
    sample(text, name, &[("function", FUNCTION), (key, value)]).unwrap_or(0.0)
}

fn per_function(text: &str, name: &str) -> f64 {
    sample(text, name, &[("function", FUNCTION)]).unwrap_or(0.0)
}

/// A session trigger of `handler` on `client`, instrumented by `ops`.
struct Running {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<Vec<berth_host::runtime::session_pump::SessionSummary>>,
}

fn start_trigger(ops: &Ops, client: &ServiceBusClient, handler: BoxedHandler) -> Running {
    ops.instrument_client(client, "ServiceBusConnection");
    let spec = spec(QUEUE, TriggerSettings::default(), handler);
    let source = client.session_source(&spec.entity.path(), spec.settings.prefetch_count);
    let group = Arc::new(EntityGroup::single(spec).instrumented(ops, source.probe()));
    let stop = CancellationToken::new();
    let task = tokio::spawn(acceptor::run_group(group, source, stop.clone()));
    Running { stop, task }
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        tokio::time::timeout(Duration::from_secs(60), self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

fn ok_handler() -> BoxedHandler {
    BoxedHandler::new(|_m: Message| async { Ok::<(), HandlerError>(()) })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_bad_requests_get_errors_not_panics() {
    let ops = Ops::new();
    let server = OpsServer::start("127.0.0.1:0".parse().unwrap(), ops.clone())
        .await
        .unwrap();
    let address = server.local_addr();
    assert_eq!(get(address, "/healthz").await, (200, "ok\n".to_owned()));
    assert_eq!(get(address, "/nope").await.0, 404);
    let (status, body) = get(address, "/readyz").await;
    assert_eq!((status, body.as_str()), (503, "no triggers started yet\n"));
    let post =
        "POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(request(address, post).await.0, 405);
    assert_eq!(request(address, "garbage\r\n\r\n").await.0, 400);
    assert_eq!(get(address, "/healthz").await.0, 200, "still serving");
    server.shutdown().await;
    assert!(
        TcpStream::connect(address).await.is_err(),
        "stopped listening"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_flips_when_the_broker_goes_away_and_comes_back() {
    let entities = session_queue(QUEUE, "30s", 10);
    let broker = start_at("127.0.0.1:0", &entities, None).await;
    let broker_address = broker.local_addr().to_string();
    let client = client(&broker).await;
    let ops = Ops::new();
    let server = OpsServer::start("127.0.0.1:0".parse().unwrap(), ops.clone())
        .await
        .unwrap();
    let address = server.local_addr();
    let trigger = start_trigger(&ops, &client, ok_handler());
    poll(address, "/readyz", |status, _| status == 200).await;

    broker.shutdown().await;
    let body = poll(address, "/readyz", |status, _| status == 503).await;
    // Which one the host notices first is a race: the broker's detach of the receiver
    // (it says it is shutting down) or the connection's loss. Either is a right answer.
    assert!(
        body.starts_with(&format!("{FUNCTION}: not connected ("))
            || body.starts_with(&format!("{FUNCTION}: receiver not live (")),
        "{body}"
    );
    assert_eq!(get(address, "/healthz").await.0, 200);

    let broker = start_at(&broker_address, &entities, None).await;
    poll(address, "/readyz", |status, _| status == 200).await;
    let metrics = get(address, "/metrics").await.1;
    let reconnects = sample(
        &metrics,
        "berth_reconnects_total",
        &[("connection", "ServiceBusConnection")],
    );
    assert_eq!(reconnects, Some(1.0), "{metrics}");

    let stop = ops.readiness.clone();
    stop.drain();
    assert_eq!(
        get(address, "/readyz").await,
        (503, "draining\n".to_owned())
    );
    trigger.stop().await;
    server.shutdown().await;
    client.close().await;
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_sent_and_settled() {
    const SESSIONS: u32 = 4;
    const PER_SESSION: u32 = 5;
    let entities = session_queue(QUEUE, "30s", 10);
    let broker = start_at("127.0.0.1:0", &entities, None).await;
    let client = client(&broker).await;
    let sender = client.sender(QUEUE);
    for s in 0..SESSIONS {
        let batch: Vec<Message> = (0..PER_SESSION).map(|n| msg(&format!("s{s}"), n)).collect();
        sender.send_batch(&batch).await.unwrap();
    }
    // Two messages fail on their first delivery (retry is off: abandoned, redelivered).
    let failed = Arc::new(Mutex::new(HashSet::new()));
    let handler = {
        let failed = failed.clone();
        BoxedHandler::new(move |SessionId(s): SessionId, m: Message| {
            let failed = failed.clone();
            async move {
                let n = n_of(&m);
                let fails = (s == "s1" && n == 2) || (s == "s3" && n == 4);
                if fails && failed.lock().unwrap().insert((s, n)) {
                    return Err(HandlerError::msg("first delivery fails"));
                }
                Ok::<(), HandlerError>(())
            }
        })
    };
    let ops = Ops::new();
    let server = OpsServer::start("127.0.0.1:0".parse().unwrap(), ops.clone())
        .await
        .unwrap();
    let address = server.local_addr();
    let trigger = start_trigger(&ops, &client, handler);
    wait_for_counts(&broker, QUEUE, "every message settled", LIMIT, |c| {
        c.active == 0
    })
    .await;
    let total = f64::from(SESSIONS * PER_SESSION);
    // The counters move right after the broker took the settlement: poll for the last.
    poll(address, "/metrics", |_, text| {
        counter(
            text,
            "berth_messages_settled_total",
            "settlement",
            "completed",
        ) == total
    })
    .await;
    trigger.stop().await;
    let text = get(address, "/metrics").await.1;
    let settled = |kind| counter(&text, "berth_messages_settled_total", "settlement", kind);
    assert_eq!(settled("completed"), total, "{text}");
    assert_eq!(settled("abandoned"), 2.0, "{text}");
    assert_eq!(settled("dead_lettered"), 0.0, "{text}");
    assert_eq!(settled("deferred"), 0.0, "{text}");
    let invocations = |outcome| counter(&text, "berth_invocations_total", "outcome", outcome);
    assert_eq!(invocations("ok"), total, "{text}");
    assert_eq!(invocations("error"), 2.0, "{text}");
    assert_eq!(invocations("panic"), 0.0, "{text}");
    assert_eq!(
        per_function(&text, "berth_handler_duration_seconds_count"),
        total + 2.0,
        "{text}"
    );
    let accepted = per_function(&text, "berth_sessions_accepted_total");
    assert!(accepted >= f64::from(SESSIONS), "{text}");
    assert_eq!(
        per_function(&text, "berth_sessions_released_total"),
        accepted,
        "{text}"
    );
    assert_eq!(per_function(&text, "berth_sessions_active"), 0.0, "{text}");
    assert_eq!(
        per_function(&text, "berth_lock_losses_total"),
        0.0,
        "{text}"
    );
    assert_eq!(
        per_function(&text, "berth_prefetched_messages"),
        0.0,
        "{text}"
    );
    assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with # EOF");
    server.shutdown().await;
    client.close().await;
    broker.shutdown().await;
}
