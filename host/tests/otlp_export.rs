//! The `otlp` feature: with `OTEL_EXPORTER_OTLP_ENDPOINT` set, `logging::init` exports the
//! spans over OTLP/HTTP; the invocation span's parent is the producer's span from the
//! message's `traceparent`, and its ids are the ones the handler and the logs see.
//!
//! The collector here is a loopback listener that records each request (path and protobuf
//! body) and answers 200; the body is checked for the raw id bytes and names.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth::host::BoxedHandler;
use berth::{HandlerError, Message, TraceContext};
use berth_host::config::{LogFormat, LoggingConfig};
use berth_host::logging;
use berth_host::runtime::TriggerSettings;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

// The helpers of the `it` binary; this test is a binary of its own because it installs the
// process's global exporter from environment variables.
#[path = "it/e2e_support/mod.rs"]
mod e2e_support;
#[path = "it/servicebus_support/mod.rs"]
mod servicebus_support;
#[path = "it/wait.rs"]
#[allow(dead_code)]
mod wait;
use e2e_support::{session_queue, spec, Trigger};
use servicebus_support::{client, start};

const TRACE: [u8; 16] = [
    0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
];
const PARENT: [u8; 8] = [0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7];

/// Accepts OTLP requests on a loopback port; each `(path, body)` goes to the channel.
async fn collector() -> (u16, mpsc::UnboundedReceiver<(String, Vec<u8>)>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, length) = loop {
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the exporter closed before a full request");
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse::<usize>().unwrap())
                            .unwrap_or(0);
                        break (end + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = stream.read(&mut chunk).await.unwrap();
                    assert!(n > 0, "the exporter closed before the full body");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("").to_owned();
                let _ = tx.send((path, buf[head_end..head_end + length].to_vec()));
                let reply = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                stream.write_all(reply).await.unwrap();
            });
        }
    });
    (port, rx)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocation_spans_are_exported_as_children_of_the_producer_span() {
    let (port, mut requests) = collector().await;
    std::env::set_var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        format!("http://127.0.0.1:{port}"),
    );
    std::env::set_var("OTEL_SERVICE_NAME", "otlp-export-test");
    logging::init(&LoggingConfig::default(), Some(LogFormat::Json));

    let broker = start(&session_queue("exported", "PT30S", 5)).await;
    let client = client(&broker).await;
    let (tx, mut seen) = mpsc::unbounded_channel();
    let handler = BoxedHandler::new(move |trace: TraceContext| {
        let tx = tx.clone();
        async move {
            tracing::info!("handled");
            let _ = tx.send(trace);
            Ok::<(), HandlerError>(())
        }
    });
    let trigger = Trigger::start(
        &client,
        spec("exported", TriggerSettings::default(), handler),
    );
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let message = Message::with_body("x")
        .session("s")
        .id("exported-1")
        .property("traceparent", traceparent);
    client.sender("exported").send(&message).await.unwrap();
    let trace = tokio::time::timeout(Duration::from_secs(30), seen.recv())
        .await
        .unwrap()
        .unwrap();
    trigger.stop().await;
    tokio::task::spawn_blocking(logging::shutdown)
        .await
        .unwrap();

    assert_eq!(trace.trace_id.0, TRACE);
    assert_eq!(trace.parent_span_id.map(|s| s.0), Some(PARENT));
    let mut exported = Vec::new();
    while let Ok(Some((path, body))) =
        tokio::time::timeout(Duration::from_secs(10), requests.recv()).await
    {
        assert_eq!(path, "/v1/traces");
        exported.extend(body);
        if contains(&exported, b"process exported") {
            break;
        }
    }
    // The invocation span: its name, the producer's trace and span as parent, the span id
    // the handler saw, and the messaging attributes.
    assert!(
        contains(&exported, b"process exported"),
        "no invocation span exported"
    );
    assert!(contains(&exported, &TRACE));
    assert!(contains(&exported, &PARENT));
    assert!(contains(&exported, &trace.span_id.0));
    assert!(contains(&exported, b"messaging.destination.name"));
    assert!(contains(&exported, b"servicebus"));
    assert!(contains(&exported, b"otlp-export-test"));
}
