//! The admin HTTP API, over real HTTP/1.1 on loopback.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;

use berth_emulator::admin::AdminServer;
use berth_emulator::entity::{Namespace, NewMessage};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn request(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let text = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let status: u16 = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or("");
    let value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(body).unwrap()
    };
    (status, value)
}

async fn start() -> (Namespace, AdminServer) {
    let namespace = Namespace::in_memory();
    let server = AdminServer::start(
        "127.0.0.1:0".parse().unwrap(),
        namespace.clone(),
        Default::default(),
    )
    .await
    .unwrap();
    (namespace, server)
}

#[tokio::test]
async fn entities_are_created_listed_counted_and_deleted() {
    let (namespace, server) = start().await;
    let addr = server.local_addr();

    let (status, queue) = request(
        addr,
        "PUT",
        "/queues/orders",
        r#"{"requires_session": true, "lock_duration": "30s", "max_delivery_count": 3}"#,
    )
    .await;
    assert_eq!(status, 201, "{queue}");
    assert_eq!(queue["kind"], "queue");
    assert_eq!(queue["options"]["requires_session"], true);
    assert_eq!(queue["options"]["lock_duration_ms"], 30_000);
    assert_eq!(queue["options"]["max_delivery_count"], 3);

    let (status, _) = request(addr, "PUT", "/topics/events", "").await;
    assert_eq!(status, 201);
    let (status, sub) = request(addr, "PUT", "/topics/events/subscriptions/audit", "{}").await;
    assert_eq!(status, 201, "{sub}");
    assert_eq!(sub["path"], "events/Subscriptions/audit");

    for n in 0..3 {
        let message = NewMessage {
            body: format!("m{n}").into_bytes().into(),
            session_id: Some(if n < 2 { "a".into() } else { "b".into() }),
            time_to_live: None,
            scheduled_enqueue_time: None,
        };
        namespace.send("orders", &message).await.unwrap();
    }
    let (status, orders) = request(addr, "GET", "/entities/orders", "").await;
    assert_eq!(status, 200);
    assert_eq!(orders["counts"]["active"], 3);
    assert_eq!(orders["counts"]["sessions"], 2);

    let (status, list) = request(addr, "GET", "/entities", "").await;
    assert_eq!(status, 200);
    let paths: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"orders")
            && paths.contains(&"events")
            && paths.contains(&"events/Subscriptions/audit"),
        "{paths:?}"
    );

    let (status, error) = request(addr, "PUT", "/queues/orders", "").await;
    assert_eq!(status, 409, "{error}");
    assert_eq!(error["condition"], "com.microsoft:entity-already-exists");

    let (status, _) = request(addr, "DELETE", "/entities/orders", "").await;
    assert_eq!(status, 204);
    let (status, error) = request(addr, "GET", "/entities/orders", "").await;
    assert_eq!(status, 404);
    assert_eq!(error["condition"], "amqp:not-found");
}

#[tokio::test]
async fn bad_bodies_and_unknown_routes_get_clear_errors() {
    let (_namespace, server) = start().await;
    let addr = server.local_addr();
    let (status, error) = request(addr, "PUT", "/queues/q", r#"{"requires_sesion": true}"#).await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("requires_sesion"),
        "{error}"
    );
    let (status, error) = request(addr, "PUT", "/queues/q", "{not json").await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("line 1"),
        "{error}"
    );
    let (status, error) = request(addr, "POST", "/nothing", "").await;
    assert_eq!(status, 404);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("PUT /queues/NAME"),
        "{error}"
    );
    let (status, health) = request(addr, "GET", "/health", "").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
}
