//! The admin HTTP API, over real HTTP/1.1 on loopback.
#![allow(clippy::unwrap_used)]

use crate::admin_support;

use admin_support::{request, request_as, start};
use berth_emulator::admin::{AdminAccess, AdminError, AdminServer};
use berth_emulator::entity::{Namespace, NewMessage};
use berth_emulator::rights::parse_rule;
use berth_emulator::sas;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
            message_id: None,
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

/// The path is split on `/` before each segment is decoded: `%2F` belongs to a name and
/// never adds a route segment; any legal character may be escaped.
#[tokio::test]
async fn escaped_slashes_stay_inside_a_name_and_escapes_round_trip() {
    let (_namespace, server) = start().await;
    let addr = server.local_addr();

    let (status, queue) = request(addr, "PUT", "/queues/a%2Fb", "").await;
    assert_eq!(
        (status, queue["path"].as_str()),
        (201, Some("a/b")),
        "{queue}"
    );
    let (status, queue) = request(addr, "GET", "/entities/a%2Fb", "").await;
    assert_eq!(
        (status, queue["path"].as_str()),
        (200, Some("a/b")),
        "{queue}"
    );

    request(addr, "PUT", "/topics/t", "").await;
    let (status, error) = request(addr, "PUT", "/topics/t%2Fsubscriptions%2Fs", "").await;
    assert_eq!(
        status, 400,
        "an escaped path must not create subscription s: {error}"
    );
    let (status, _) = request(addr, "GET", "/entities/t/Subscriptions/s", "").await;
    assert_eq!(status, 404, "no subscription s under topic t");
    let (status, error) = request(addr, "PUT", "/topics/t/subscriptions/x%2Fy", "").await;
    assert_eq!(status, 400, "a subscription name has no '/': {error}");

    for (escaped, name) in [
        ("caf%C3%A9", "café"),
        ("my%2dqueue", "my-queue"),
        ("q%41", "qA"),
    ] {
        let (status, queue) = request(addr, "PUT", &format!("/queues/{escaped}"), "").await;
        assert_eq!(
            (status, queue["path"].as_str()),
            (201, Some(name)),
            "{queue}"
        );
        let (status, queue) = request(addr, "GET", &format!("/entities/{escaped}"), "").await;
        assert_eq!(
            (status, queue["path"].as_str()),
            (200, Some(name)),
            "{queue}"
        );
    }

    let (status, error) = request(addr, "PUT", "/queues/%FF", "").await;
    assert_eq!(status, 400);
    assert!(
        error["error"].as_str().unwrap().contains("UTF-8"),
        "{error}"
    );

    let (status, _) = request(addr, "DELETE", "/entities/a%2Fb", "").await;
    assert_eq!(status, 204);
    let (status, _) = request(addr, "GET", "/entities/a%2Fb", "").await;
    assert_eq!(status, 404, "a/b was deleted");
}

/// A SAS token for `resource` (e.g. `http://localhost/` for the whole namespace).
fn token(resource: &str, rule: &str, key: &str, se: u64) -> String {
    let sig = sas::sign(key, resource, &se.to_string())
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("SharedAccessSignature sr={resource}&sig={sig}&se={se}&skn={rule}")
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn with_rules_every_request_but_health_needs_a_manage_token() {
    let namespace = Namespace::in_memory();
    let access = AdminAccess {
        rules: vec![
            parse_rule("root=root-key").unwrap(),
            parse_rule("reader=reader-key:Listen,Send").unwrap(),
        ]
        .into(),
        allow_anonymous: false,
    };
    let server = AdminServer::start("127.0.0.1:0".parse().unwrap(), namespace.clone(), access)
        .await
        .unwrap();
    let addr = server.local_addr();
    let later = unix_now() + 600;
    let root = token("http%3A%2F%2Flocalhost%2F", "root", "root-key", later);

    let (status, _) = request(addr, "GET", "/health", "").await;
    assert_eq!(status, 200, "health stays open");
    let refusals = [
        (None, "needs an 'Authorization: SharedAccessSignature"),
        (
            Some(token(
                "http%3A%2F%2Flocalhost%2F",
                "reader",
                "reader-key",
                later,
            )),
            "'Manage' claim(s) are required to perform this operation",
        ),
        (
            Some(token(
                "http%3A%2F%2Flocalhost%2F",
                "root",
                "wrong-key",
                later,
            )),
            "InvalidSignature",
        ),
        (
            Some(token(
                "http%3A%2F%2Flocalhost%2F",
                "root",
                "root-key",
                unix_now() - 1,
            )),
            "ExpiredToken",
        ),
        (
            Some(token(
                "http%3A%2F%2Flocalhost%2Fother",
                "root",
                "root-key",
                later,
            )),
            "InvalidAudience",
        ),
    ];
    for (token, expected) in &refusals {
        let (status, body) = request_as(addr, "PUT", "/queues/orders", "", token.as_deref()).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["condition"], "amqp:unauthorized-access");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(expected) && error.contains("TrackingId:"),
            "{error}"
        );
    }
    assert!(namespace.entities().is_empty(), "nothing was created");

    let (status, body) = request_as(addr, "PUT", "/queues/orders", "", Some(&root)).await;
    assert_eq!(status, 201, "{body}");
    let scoped = token("http%3A%2F%2Flocalhost%2Forders", "root", "root-key", later);
    let (status, body) = request_as(addr, "GET", "/entities/orders", "", Some(&scoped)).await;
    assert_eq!(
        (status, body["path"].as_str()),
        (200, Some("orders")),
        "{body}"
    );
    let (status, _) = request_as(addr, "GET", "/entities", "", Some(&scoped)).await;
    assert_eq!(
        status, 401,
        "an entity token does not cover the namespace listing"
    );
    let (status, _) = request_as(addr, "DELETE", "/entities/orders", "", Some(&root)).await;
    assert_eq!(status, 204);
}

#[tokio::test]
async fn an_open_admin_api_is_refused_off_loopback_unless_allowed() {
    let any = "0.0.0.0:0".parse().unwrap();
    let refused = AdminServer::start(any, Namespace::in_memory(), AdminAccess::default()).await;
    let Err(AdminError::Exposed(error)) = refused else {
        panic!("an open admin API on 0.0.0.0 must be refused");
    };
    assert!(error.to_string().contains("--allow-anonymous"), "{error}");
    let allowed = AdminAccess {
        allow_anonymous: true,
        ..AdminAccess::default()
    };
    AdminServer::start(any, Namespace::in_memory(), allowed)
        .await
        .expect("allowed explicitly");
    let secured = AdminAccess {
        rules: vec![parse_rule("root=k").unwrap()].into(),
        allow_anonymous: false,
    };
    AdminServer::start(any, Namespace::in_memory(), secured)
        .await
        .expect("with a rule it may listen anywhere");
}

/// Reads what the server sends until it closes the connection, failing after `limit`.
async fn read_until_closed(stream: &mut TcpStream, limit: std::time::Duration) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(limit, stream.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("the admin API kept the connection open for {limit:?}"))
        .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn silent_slow_and_surplus_connections_are_closed_with_a_reason() {
    use berth_emulator::admin::AdminLimits;
    use std::time::Duration;
    let limits = AdminLimits {
        max_connections: 2,
        request_timeout: Duration::from_millis(300),
    };
    let server = AdminServer::start_with(
        "127.0.0.1:0".parse().unwrap(),
        Namespace::in_memory(),
        AdminAccess::default(),
        limits,
    )
    .await
    .unwrap();
    let addr = server.local_addr();

    // A socket that sends nothing is closed, and one that sends half a head too.
    let mut silent = TcpStream::connect(addr).await.unwrap();
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /entities HTTP/1.1\r\nHost: loc")
        .await
        .unwrap();
    // Both slots are taken: the next connection is answered 503 and closed at once.
    let mut surplus = TcpStream::connect(addr).await.unwrap();
    let busy = read_until_closed(&mut surplus, Duration::from_secs(10)).await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy:?}");
    let body = busy.split("\r\n\r\n").nth(1).unwrap();
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["condition"], "com.microsoft:server-busy", "{body}");

    let silent_end = read_until_closed(&mut silent, Duration::from_secs(10)).await;
    let slow_end = read_until_closed(&mut slow, Duration::from_secs(10)).await;
    assert!(!silent_end.contains("200 OK") && !slow_end.contains("200 OK"));

    // A body that does not arrive in time is answered 408.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"PUT /queues/late HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n{")
        .await
        .unwrap();
    let late = read_until_closed(&mut stalled, Duration::from_secs(10)).await;
    assert!(late.starts_with("HTTP/1.1 408"), "{late:?}");

    // With the slots free again, requests are served.
    let (status, _) = request(addr, "GET", "/health", "").await;
    assert_eq!(status, 200);
}
