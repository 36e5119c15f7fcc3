//! Subscription rules over the wire: the admin API over HTTP, and the `$management` rule
//! operations over AMQP as .NET shapes them, through the real broker with the fe2o3-amqp
//! client.
#![allow(clippy::unwrap_used)] // tests may unwrap

use crate::rules_support;

use std::net::SocketAddr;

use berth_emulator::admin::AdminServer;
use berth_emulator::entity::Namespace;
use fe2o3_amqp_types::messaging::message::__private::Deserializable;
use fe2o3_amqp_types::messaging::{ApplicationProperties, Body, Message, Properties};
use fe2o3_amqp_types::primitives::{SimpleValue, Value as Amqp};
use rules_support::{drain, message, send_three, SUB};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One HTTP/1.1 request to the admin API: (status, JSON body or null).
async fn http(addr: SocketAddr, method: &str, path: &str, body: &str) -> (u16, serde_json::Value) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all((head + body).as_bytes()).await.unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    let (head, payload) = text.split_once("\r\n\r\n").unwrap();
    let status = head[9..12].parse().unwrap();
    (
        status,
        serde_json::from_str(payload).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn the_admin_api_lists_adds_and_removes_rules() {
    let ns = Namespace::in_memory();
    let server = AdminServer::start(
        "127.0.0.1:0".parse().unwrap(),
        ns.clone(),
        Default::default(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    assert_eq!(http(addr, "PUT", "/topics/events", "").await.0, 201);
    let rules = r#"{"rules": [{"name": "created", "correlation": {"label": "created"}}]}"#;
    let (status, sub) = http(addr, "PUT", "/topics/events/subscriptions/s", rules).await;
    assert_eq!(status, 201, "{sub}");
    let base = "/topics/events/subscriptions/s/rules";
    let (status, listed) = http(addr, "GET", base, "").await;
    assert_eq!(status, 200);
    assert_eq!(
        listed,
        serde_json::json!([{"name": "created", "correlation": {"label": "created"}}])
    );
    let (status, added) = http(
        addr,
        "PUT",
        &format!("{base}/blue"),
        r#"{"correlation": {"properties": {"color": "blue"}}}"#,
    )
    .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["correlation"]["properties"]["color"], "blue");
    let (status, conflict) =
        http(addr, "PUT", &format!("{base}/BLUE"), r#"{"filter": true}"#).await;
    assert_eq!(
        (status, conflict["condition"].as_str()),
        (409, Some("com.microsoft:entity-already-exists"))
    );
    let (status, unknown) = http(addr, "PUT", &format!("{base}/x"), r#"{"filtre": true}"#).await;
    assert_eq!(status, 400);
    assert!(
        unknown["error"].as_str().unwrap().contains("filtre"),
        "{unknown}"
    );
    send_three(&ns).await;
    assert_eq!(drain(&ns, SUB), ["m1", "m2"]);
    assert_eq!(
        http(addr, "DELETE", &format!("{base}/created"), "").await.0,
        204
    );
    assert_eq!(
        http(addr, "DELETE", &format!("{base}/created"), "").await.0,
        404
    );
    let (_, listed) = http(addr, "GET", base, "").await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let (status, _) = http(addr, "PUT", "/queues/q", r#"{"rules": []}"#).await;
    assert_eq!(status, 400, "queues have no rules");
    server.shutdown();
}

/// A request/response link pair on a subscription's `$management` node.
struct Management {
    requests: fe2o3_amqp::Sender,
    replies: fe2o3_amqp::Receiver,
}

impl Management {
    async fn attach(session: &mut fe2o3_amqp::session::SessionHandle<()>, node: &str) -> Self {
        let requests = fe2o3_amqp::Sender::builder()
            .name("rules-requests")
            .target(node)
            .attach(session)
            .await
            .unwrap();
        let replies = fe2o3_amqp::Receiver::builder()
            .name("rules-replies")
            .source(node)
            .target("rules-replies")
            .attach(session)
            .await
            .unwrap();
        Self { requests, replies }
    }

    /// (statusCode, errorCondition, body) of `operation` with the map `body`.
    async fn call(&mut self, operation: &str, body: Vec<(&str, Amqp)>) -> (i32, String, Amqp) {
        let request = Message::builder()
            .properties(Properties {
                message_id: Some(String::from(operation).into()),
                reply_to: Some("rules-replies".into()),
                ..Properties::default()
            })
            .application_properties(
                ApplicationProperties::builder()
                    .insert("operation", SimpleValue::String(operation.into()))
                    .build(),
            )
            .value(amqp_map(body))
            .build();
        self.requests.send(request).await.unwrap();
        let wait = std::time::Duration::from_secs(20);
        let reply = tokio::time::timeout(wait, self.replies.recv::<Body<Amqp>>())
            .await
            .expect("a $management reply within 20 s")
            .unwrap();
        self.replies.accept(&reply).await.unwrap();
        let message = reply.into_message();
        let properties = message.application_properties.unwrap().0;
        let code = match properties.get("statusCode") {
            Some(SimpleValue::Int(code)) => *code,
            other => panic!("no statusCode: {other:?}"),
        };
        let condition = match properties.get("errorCondition") {
            Some(SimpleValue::Symbol(s)) => s.as_str().to_owned(),
            _ => String::new(),
        };
        let body = match message.body {
            Body::Value(v) => v.0,
            _ => Amqp::Null,
        };
        (code, condition, body)
    }

    /// The names in an enumerate-rules page (`skip`, `top`), or `None` for 204.
    async fn names(&mut self, skip: i32, top: i32) -> Option<Vec<String>> {
        let body = vec![("skip", Amqp::Int(skip)), ("top", Amqp::Int(top))];
        let (code, _, reply) = self.call("com.microsoft:enumerate-rules", body).await;
        if code == 204 {
            return None;
        }
        assert_eq!(code, 200, "{reply:?}");
        let Amqp::List(rules) = lookup(&reply, "rules") else {
            panic!("no rules list: {reply:?}");
        };
        let name = |rule: &Amqp| match lookup(rule, "rule-description") {
            Amqp::Described(d) => match &d.value {
                Amqp::List(fields) => match &fields[2] {
                    Amqp::String(name) => name.clone(),
                    other => panic!("rule name {other:?}"),
                },
                other => panic!("rule-description {other:?}"),
            },
            other => panic!("rule-description {other:?}"),
        };
        Some(rules.iter().map(name).collect())
    }
}

fn amqp_map(entries: Vec<(&str, Amqp)>) -> Amqp {
    let mut map = fe2o3_amqp_types::primitives::OrderedMap::new();
    for (k, v) in entries {
        map.insert(Amqp::String(k.to_owned()), v);
    }
    Amqp::Map(map)
}

fn lookup(map: &Amqp, key: &str) -> Amqp {
    match map {
        Amqp::Map(m) => m
            .get(&Amqp::String(key.into()))
            .cloned()
            .unwrap_or(Amqp::Null),
        _ => Amqp::Null,
    }
}

/// An add-rule body shaped as .NET's rule manager sends it: the rule name inside the
/// description too, and `sql-rule-action` null when there is no action.
fn dotnet_add_rule(name: &str, filter: (&str, Amqp)) -> Vec<(&'static str, Amqp)> {
    let description = amqp_map(vec![
        filter,
        ("sql-rule-action", Amqp::Null),
        ("rule-name", Amqp::String(name.into())),
    ]);
    vec![
        ("rule-name", Amqp::String(name.into())),
        ("rule-description", description),
    ]
}

#[tokio::test]
async fn rule_operations_over_amqp_change_what_the_subscription_receives() {
    let broker = berth_emulator::broker::Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml("[[topics]]\nname = \"events\"\n[[topics.subscriptions]]\nname = \"s\"\n")
        .unwrap()
        .start()
        .await
        .unwrap();
    let url = format!("amqp://{}", broker.local_addr());
    let mut connection = fe2o3_amqp::Connection::open("rules", url.as_str())
        .await
        .unwrap();
    let mut session = fe2o3_amqp::Session::begin(&mut connection).await.unwrap();
    let mut management =
        Management::attach(&mut session, "events/Subscriptions/s/$management").await;
    assert_eq!(management.names(0, 100).await.unwrap(), ["$Default"]);

    let red = amqp_map(vec![
        ("correlation-id", Amqp::Null),
        ("label", Amqp::Null),
        (
            "properties",
            amqp_map(vec![("color", Amqp::String("red".into()))]),
        ),
    ]);
    let add = "com.microsoft:add-rule";
    let (code, _, _) = management
        .call(
            add,
            dotnet_add_rule("red", ("correlation-filter", red.clone())),
        )
        .await;
    assert_eq!(code, 200);
    let (code, condition, _) = management
        .call(add, dotnet_add_rule("Red", ("correlation-filter", red)))
        .await;
    assert_eq!(
        (code, condition.as_str()),
        (409, "com.microsoft:entity-already-exists")
    );
    let never = amqp_map(vec![("expression", Amqp::String("1=0".into()))]);
    let (code, _, _) = management
        .call(add, dotnet_add_rule("never", ("sql-filter", never)))
        .await;
    assert_eq!(code, 200);
    let remove = |name: &str| vec![("rule-name", Amqp::String(name.into()))];
    let (code, _, _) = management
        .call("com.microsoft:remove-rule", remove("$Default"))
        .await;
    assert_eq!(code, 200);
    let (code, condition, _) = management
        .call("com.microsoft:remove-rule", remove("$Default"))
        .await;
    assert_eq!((code, condition.as_str()), (404, "amqp:not-found"));
    assert_eq!(management.names(0, 100).await.unwrap(), ["red", "never"]);
    assert_eq!(management.names(1, 1).await.unwrap(), ["never"]);
    assert_eq!(management.names(2, 100).await, None, "an empty page is 204");

    let mut sender = fe2o3_amqp::Sender::attach(&mut session, "send", "events")
        .await
        .unwrap();
    for m in [
        message("m1", None, Some("blue")),
        message("m2", None, Some("red")),
    ] {
        let decoded: Deserializable<Message<Body<Amqp>>> = serde_amqp::from_slice(&m.body).unwrap();
        sender.send(decoded.0).await.unwrap();
    }
    assert_eq!(drain(broker.namespace(), SUB), ["m2"]);
    sender.close().await.unwrap();
    connection.close().await.unwrap();
    broker.shutdown().await;
}
