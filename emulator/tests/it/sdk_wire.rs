//! Wire details the official SDKs (and .NET) depend on, checked frame by frame with a
//! hand-driven AMQP client against the embedded broker (development mode: no SAS rules, so no
//! `$cbs` exchange is needed). The SDK scenario tests show the SDKs are content; these pin the
//! exact shapes: lock-token tags, header and annotation types, the settled echo of a
//! dead-letter, string-keyed `error.info`, session filter echo, drain, and refusals.
#![allow(clippy::unwrap_used)]

use crate::amqp_support::raw;

use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::entity::LockToken;
use berth_emulator::node::wire;
use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{
    Body, DeliveryState, Message, MessageAnnotations, Properties, Source,
};
use fe2o3_amqp_types::performatives::{Attach, Performative, Transfer};
use fe2o3_amqp_types::primitives::{Binary, SimpleValue, Symbol, Value};
use raw::{attach, begin, frame, link_flow, RawClient};
use serde_amqp::described::Described;
use serde_amqp::descriptor::Descriptor;

const ENTITIES: &str = r#"
[[queues]]
name = "orders"

[[queues]]
name = "sessions"
requires_session = true
"#;

/// 256 KiB messages plus the batch envelope allowance.
const TRANSFER_LIMIT: u64 = 256 * 1024 + 64 * 1024;

async fn start() -> RunningBroker {
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .start()
        .await
        .unwrap()
}

/// An opened connection with one session on channel 0.
async fn client(broker: &RunningBroker) -> RawClient {
    let (mut c, _) = RawClient::opened(broker.local_addr().port(), None).await;
    c.write(&frame(0, &begin(), &[])).await;
    assert!(matches!(c.next().await, Some((Performative::Begin(_), _))));
    c
}

async fn attach_reply(c: &mut RawClient) -> Attach {
    c.expect("an attach", |p, _| match p {
        Performative::Attach(a) => Some(a),
        _ => None,
    })
    .await
}

async fn transfer(c: &mut RawClient) -> (Transfer, Vec<u8>) {
    c.expect("a transfer", |p, payload| match p {
        Performative::Transfer(t) => Some((t, payload)),
        _ => None,
    })
    .await
}

fn encode(message: Message<Body<Value>>) -> Vec<u8> {
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

fn decode(payload: &[u8]) -> Message<Body<Value>> {
    let message: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(payload).unwrap();
    message.0
}

fn message(group: Option<&str>) -> Vec<u8> {
    let properties = Properties {
        message_id: Some(String::from("m-1").into()),
        group_id: group.map(str::to_owned),
        ..Properties::default()
    };
    encode(
        Message::builder()
            .properties(properties)
            .body(Body::Data(
                vec![Binary::from(vec![1u8, 2, 3]).into()].into(),
            ))
            .build(),
    )
}

async fn send(c: &mut RawClient, handle: u32, address: &str, payload: &[u8]) {
    c.write(&frame(
        0,
        &attach("sender", handle, Role::Sender, address),
        &[],
    ))
    .await;
    let reply = attach_reply(c).await;
    assert_eq!(
        reply.max_message_size,
        Some(TRANSFER_LIMIT),
        "max-message-size on every attach"
    );
    let batch = reply.properties.as_ref().and_then(|p| {
        p.get(&Symbol::from("com.microsoft:max-message-batch-size"))
            .cloned()
    });
    assert_eq!(batch, Some(Value::Ulong(256 * 1024)));
    let transfer = Transfer {
        handle: handle.into(),
        delivery_id: Some(0),
        delivery_tag: Some(vec![7u8].into()),
        message_format: Some(0),
        settled: Some(false),
        more: false,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    };
    c.write(&frame(0, &transfer, payload)).await;
    let state = c
        .expect("a disposition", |p, _| match p {
            Performative::Disposition(d) => Some(d),
            _ => None,
        })
        .await;
    assert!(state.settled, "sends are settled in one step");
    assert!(
        matches!(state.state, Some(DeliveryState::Accepted(_))),
        "{state:?}"
    );
}

fn annotation<'m>(m: &'m Message<Body<Value>>, key: &str) -> &'m Value {
    m.message_annotations
        .as_ref()
        .and_then(|a: &MessageAnnotations| {
            a.iter()
                .find(|(k, _)| format!("{k:?}").contains(&format!("\"{key}\"")))
                .map(|(_, v)| v)
        })
        .unwrap_or_else(|| panic!("no {key} annotation"))
}

/// `disposition(role=receiver, first, settled=false, rejected{error{dead-letter, info with
/// STRING keys}})` as rhea (JS) encodes it.
fn js_dead_letter_disposition(delivery_id: u32) -> Vec<u8> {
    let described = |code: u64, fields: Vec<Value>| {
        Value::Described(Box::new(Described {
            descriptor: Descriptor::Code(code),
            value: Value::List(fields),
        }))
    };
    let mut info = serde_amqp::primitives::OrderedMap::new();
    info.insert(
        Value::String("DeadLetterReason".into()),
        Value::String("bad".into()),
    );
    info.insert(
        Value::String("DeadLetterErrorDescription".into()),
        Value::String("worse".into()),
    );
    let error = described(
        0x1d,
        vec![
            Value::Symbol(Symbol::from("com.microsoft:dead-letter")),
            Value::Null,
            Value::Map(info),
        ],
    );
    let rejected = described(0x25, vec![error]);
    let disposition = described(
        0x15,
        vec![
            Value::Bool(true),
            Value::Uint(delivery_id),
            Value::Null,
            Value::Bool(false),
            rejected,
        ],
    );
    frame(0, &disposition, &[])
}

#[tokio::test]
async fn peek_lock_delivery_has_lock_token_tag_typed_annotations_and_dead_letter_echo() {
    let broker = start().await;
    let mut c = client(&broker).await;
    send(&mut c, 0, "orders", &message(None)).await;

    // Scheme, host and case are ignored, but the address is echoed byte for byte.
    let address = "amqps://localhost:5672/ORDERS";
    c.write(&frame(
        0,
        &attach("receiver", 1, Role::Receiver, address),
        &[],
    ))
    .await;
    let reply = attach_reply(&mut c).await;
    assert_eq!(
        reply.source.as_ref().and_then(|s| s.address.as_deref()),
        Some(address)
    );
    assert_eq!(reply.max_message_size, Some(TRANSFER_LIMIT));
    c.write(&frame(0, &link_flow(1, Some(0), 1, false), &[]))
        .await;
    let (delivered, payload) = transfer(&mut c).await;

    let tag = delivered.delivery_tag.expect("tag").into_vec();
    assert_eq!(tag.len(), 16, "the delivery tag is the lock token");
    assert_eq!(delivered.settled, Some(false));
    let header = wire::Reader::new(&payload).value().unwrap();
    let (code, fields) = wire::described(header).unwrap();
    assert_eq!(code, 0x70, "the header comes first");
    assert_eq!(
        wire::list_items(fields).unwrap().count(),
        5,
        "delivery-count is serialised even at 0"
    );

    let m = decode(&payload);
    assert_eq!(m.header.as_ref().map(|h| h.delivery_count), Some(0));
    let token = m
        .delivery_annotations
        .as_ref()
        .and_then(|a| a.iter().next().map(|(_, v)| v.clone()))
        .expect("x-opt-lock-token");
    let Value::Uuid(token) = token else {
        panic!("lock token is not a uuid: {token:?}")
    };
    let token = LockToken::from_bytes(token.into_inner());
    assert_eq!(
        token.to_dotnet_bytes().to_vec(),
        tag,
        "tag = lock token in .NET Guid byte order"
    );
    assert!(matches!(
        annotation(&m, "x-opt-sequence-number"),
        Value::Long(1)
    ));
    assert!(matches!(
        annotation(&m, "x-opt-enqueued-time"),
        Value::Timestamp(_)
    ));
    assert!(matches!(
        annotation(&m, "x-opt-locked-until"),
        Value::Timestamp(_)
    ));
    assert!(matches!(
        annotation(&m, "x-opt-message-state"),
        Value::Int(0)
    ));
    assert!(matches!(
        annotation(&m, "x-opt-enqueue-sequence-number"),
        Value::Long(1)
    ));

    c.write(&js_dead_letter_disposition(delivered.delivery_id.unwrap()))
        .await;
    let echo = c
        .expect("a disposition", |p, _| match p {
            Performative::Disposition(d) => Some(d),
            _ => None,
        })
        .await;
    assert_eq!(echo.role, Role::Sender);
    assert!(echo.settled);
    match echo.state {
        Some(DeliveryState::Rejected(r)) => assert!(
            r.error.is_none(),
            "a successful dead-letter echoes rejected without error"
        ),
        other => panic!("expected rejected, got {other:?}"),
    }

    c.write(&frame(
        0,
        &attach("dlq", 2, Role::Receiver, "orders/$DeadLetterQueue"),
        &[],
    ))
    .await;
    attach_reply(&mut c).await;
    c.write(&frame(0, &link_flow(2, Some(0), 1, false), &[]))
        .await;
    let (_, payload) = transfer(&mut c).await;
    let properties = decode(&payload)
        .application_properties
        .expect("application properties");
    assert_eq!(
        properties.get("DeadLetterReason"),
        Some(&SimpleValue::String("bad".into()))
    );
    assert_eq!(
        properties.get("DeadLetterErrorDescription"),
        Some(&SimpleValue::String("worse".into()))
    );
    broker.shutdown().await;
}

fn session_attach(handle: u32, filter: Value, timeout_ms: Option<u32>) -> Attach {
    let mut a = attach("session", handle, Role::Receiver, "sessions");
    let mut source = Source::builder().address("sessions").build();
    let mut filters = fe2o3_amqp_types::messaging::FilterSet::new();
    filters.insert(Symbol::from("com.microsoft:session-filter"), filter);
    source.filter = Some(filters);
    a.source = Some(Box::new(source));
    if let Some(ms) = timeout_ms {
        let mut properties = fe2o3_amqp_types::definitions::Fields::new();
        properties.insert(Symbol::from("com.microsoft:timeout"), Value::Uint(ms));
        a.properties = Some(properties);
    }
    a
}

fn echoed_filter(reply: &Attach) -> Value {
    reply
        .source
        .as_ref()
        .and_then(|s| s.filter.as_ref())
        .and_then(|f| {
            f.get(&Symbol::from("com.microsoft:session-filter"))
                .cloned()
        })
        .expect("session filter echoed")
}

#[tokio::test]
async fn described_session_filter_is_echoed_as_a_plain_string_with_locked_until_ticks() {
    let broker = start().await;
    let mut c = client(&broker).await;
    send(&mut c, 0, "sessions", &message(Some("g"))).await;
    let described = Value::Described(Box::new(Described {
        descriptor: Descriptor::Code(0x0000_0137_0000_000C),
        value: Value::String("g".into()),
    }));
    c.write(&frame(0, &session_attach(1, described, None), &[]))
        .await;
    let reply = attach_reply(&mut c).await;
    assert_eq!(echoed_filter(&reply), Value::String("g".into()));
    let ticks = reply.properties.as_ref().and_then(|p| {
        p.get(&Symbol::from("com.microsoft:locked-until-utc"))
            .cloned()
    });
    match ticks {
        Some(Value::Long(ticks)) => {
            assert!(ticks > 630_000_000_000_000_000, "{ticks} is not .NET ticks")
        }
        other => panic!("locked-until-utc must be a long, got {other:?}"),
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn next_available_with_no_session_attaches_then_detaches_with_timeout() {
    let broker = start().await;
    let mut c = client(&broker).await;
    c.write(&frame(0, &session_attach(1, Value::Null, Some(200)), &[]))
        .await;
    let reply = attach_reply(&mut c).await;
    assert_eq!(echoed_filter(&reply), Value::Null);
    let detach = c
        .expect("a detach", |p, _| match p {
            Performative::Detach(d) => Some(d),
            _ => None,
        })
        .await;
    assert!(detach.closed);
    let error = detach.error.expect("detach error");
    assert_eq!(raw::condition_text(&error), "com.microsoft:timeout");
    broker.shutdown().await;
}

#[tokio::test]
async fn plain_receiver_on_a_session_entity_is_refused_with_service_bus_text() {
    let broker = start().await;
    let mut c = client(&broker).await;
    c.write(&frame(
        0,
        &attach("plain", 1, Role::Receiver, "sessions"),
        &[],
    ))
    .await;
    attach_reply(&mut c).await;
    let detach = c
        .expect("a detach", |p, _| match p {
            Performative::Detach(d) => Some(d),
            _ => None,
        })
        .await;
    let error = detach.error.expect("detach error");
    assert_eq!(raw::condition_text(&error), "amqp:not-allowed");
    assert!(error.description.unwrap_or_default().starts_with(
        "It is not possible for an entity that requires sessions to create a non-sessionful message receiver."
    ));
    broker.shutdown().await;
}

#[tokio::test]
async fn drain_on_an_empty_queue_is_answered_with_zero_credit() {
    let broker = start().await;
    let mut c = client(&broker).await;
    c.write(&frame(
        0,
        &attach("receiver", 1, Role::Receiver, "orders"),
        &[],
    ))
    .await;
    attach_reply(&mut c).await;
    c.write(&frame(0, &link_flow(1, Some(0), 5, true), &[]))
        .await;
    let flow = c
        .expect("a flow", |p, _| match p {
            Performative::Flow(f) if f.handle.is_some() => Some(f),
            _ => None,
        })
        .await;
    assert!(flow.drain);
    assert_eq!(flow.link_credit, Some(0));
    assert_eq!(flow.delivery_count, Some(5), "unused credit is consumed");
    broker.shutdown().await;
}

#[tokio::test]
async fn durable_broker_keeps_messages_across_a_restart() {
    let dir = std::env::temp_dir().join(format!("berth-sdk-wire-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let durable = || {
        Broker::builder()
            .address("127.0.0.1:0".parse().unwrap())
            .entities_toml(ENTITIES)
            .unwrap()
            .data_dir(&dir)
    };
    let broker = durable().start().await.unwrap();
    let mut c = client(&broker).await;
    // The accepted disposition only comes once the message is on disk.
    send(&mut c, 0, "orders", &message(None)).await;
    drop(c);
    broker.shutdown().await;

    let broker = durable().start().await.unwrap();
    let mut c = client(&broker).await;
    c.write(&frame(
        0,
        &attach("receiver", 1, Role::Receiver, "orders"),
        &[],
    ))
    .await;
    attach_reply(&mut c).await;
    c.write(&frame(0, &link_flow(1, Some(0), 1, false), &[]))
        .await;
    let (_, payload) = transfer(&mut c).await;
    let m = decode(&payload);
    assert_eq!(
        m.properties.and_then(|p| p.message_id),
        Some(String::from("m-1").into())
    );
    broker.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn shutdown_returns_once_the_connections_have_released_their_sessions() {
    let broker = start().await;
    let mut c = client(&broker).await;
    send(&mut c, 0, "sessions", &message(Some("g"))).await;
    c.write(&frame(
        0,
        &session_attach(1, Value::String("g".into()), None),
        &[],
    ))
    .await;
    attach_reply(&mut c).await;
    let namespace = broker.namespace().clone();
    let sessions = namespace.receiver("sessions").unwrap();
    assert!(
        sessions.accept_session("g").is_err(),
        "held by the connection"
    );
    broker.shutdown().await;
    // No waiting: when shutdown returns, the connection has ended and its session lock is
    // gone, so nothing it held can change the entities (or their log) any more.
    let lock = sessions
        .accept_session("g")
        .expect("the session was released");
    drop(lock);
}
