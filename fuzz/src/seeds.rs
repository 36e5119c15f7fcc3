//! Seed inputs for every target, made from real encodings (fe2o3-amqp's types, the broker's
//! own output, the repository's example configuration files). `src/bin/seeds.rs` writes
//! them into `corpus/<target>/`; the committed corpora started from them.

use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::{
    ApplicationProperties, Header, Message, MessageAnnotations, Properties,
};
use fe2o3_amqp_types::performatives::{Close, Detach, Disposition, End};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Symbol, Timestamp, Value};

use crate::broker::{serve, Auth, RULE};
use crate::raw::{
    attach, begin, frame, link_flow, open, raw_frame, transfer, AMQP_HEADER, SASL_HEADER,
};
use crate::script::{client_bytes, REPLY_TO};

/// A far-future expiry (2100-01-01) so signed seed tokens stay valid.
const FAR_EXPIRY: &str = "4102444800";

/// A request message to a `$cbs` or `$management` node.
pub fn request(operation: &str, properties: &[(&str, SimpleValue)], body: Value) -> Vec<u8> {
    let mut app =
        ApplicationProperties::builder().insert("operation", SimpleValue::String(operation.into()));
    for (k, v) in properties {
        app = app.insert(*k, v.clone());
    }
    let message = Message::builder()
        .properties(Properties {
            message_id: Some(String::from("req-1").into()),
            reply_to: Some(REPLY_TO.into()),
            ..Properties::default()
        })
        .application_properties(app.build())
        .value(body)
        .build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

fn map(entries: Vec<(&str, Value)>) -> Value {
    let mut m = OrderedMap::new();
    for (k, v) in entries {
        m.insert(Value::String(k.into()), v);
    }
    Value::Map(m)
}

/// An application message as SDKs send it: header, annotations, properties (with a
/// session id), application properties and a data body.
pub fn message(session: Option<&str>, body: &[u8]) -> Vec<u8> {
    let mut annotations = MessageAnnotations::default();
    annotations.insert(
        Symbol::from("x-opt-partition-key").into(),
        Value::String("pk".into()),
    );
    annotations.insert(
        Symbol::from("x-opt-scheduled-enqueue-time").into(),
        Value::Timestamp(Timestamp::from_milliseconds(1_700_000_000_000)),
    );
    let message = Message::builder()
        .header(Header {
            durable: true,
            ttl: Some(60_000),
            ..Header::default()
        })
        .message_annotations(annotations)
        .properties(Properties {
            message_id: Some(String::from("m-1").into()),
            group_id: session.map(str::to_owned),
            content_type: Some(Symbol::from("application/json")),
            ..Properties::default()
        })
        .application_properties(
            ApplicationProperties::builder()
                .insert("kind", SimpleValue::String("order".into()))
                .insert("n", SimpleValue::Long(7))
                .build(),
        )
        .data(fe2o3_amqp_types::primitives::Binary::from(body.to_vec()))
        .build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}

/// A batch body: the messages wrapped as data sections of one message.
pub fn batch(messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for m in messages {
        let data = fe2o3_amqp_types::messaging::Data(m.clone().into());
        out.extend(serde_amqp::to_vec(&data).unwrap());
    }
    out
}

/// A SAS token signed with [`RULE`] for `resource`.
pub fn sas_token(resource: &str) -> String {
    let encoded = resource.replace(':', "%3A").replace('/', "%2F");
    let sig = berth_emulator::sas::sign(RULE.1, &encoded, FAR_EXPIRY);
    let sig = sig
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!(
        "SharedAccessSignature sr={encoded}&sig={sig}&se={FAR_EXPIRY}&skn={}",
        RULE.0
    )
}

/// An unsigned development JWT for Service Bus, expiring in 2100.
pub fn dev_jwt() -> String {
    berth_emulator::node::dev_jwt::unsigned(&serde_json::json!({
        "aud": "https://servicebus.azure.net",
        "exp": 4_102_444_800u64,
        "sub": "fuzz"
    }))
}

fn put_token(audience: &str, token: &str, kind: &str) -> Vec<u8> {
    request(
        "put-token",
        &[
            ("name", SimpleValue::String(audience.into())),
            ("type", SimpleValue::String(kind.into())),
        ],
        Value::String(token.into()),
    )
}

/// `$cbs` and `$management` request payloads: (node index of [`crate::script::NODES`], payload).
pub fn requests() -> Vec<(u8, Vec<u8>)> {
    let session = || ("session-id", SimpleValue::String("s-1".into()));
    let lock = Value::Uuid([7u8; 16].into());
    let token = sas_token("sb://localhost/q");
    vec![
        (
            0,
            put_token(
                "sb://localhost/q",
                &token,
                "servicebus.windows.net:sastoken",
            ),
        ),
        (0, put_token("sb://localhost/sq", &dev_jwt(), "jwt")),
        (
            1,
            request(
                "com.microsoft:peek-message",
                &[],
                map(vec![
                    ("from-sequence-number", Value::Long(1)),
                    ("message-count", Value::Int(10)),
                ]),
            ),
        ),
        (
            1,
            request(
                "com.microsoft:renew-lock",
                &[],
                map(vec![(
                    "lock-tokens",
                    Value::Array(vec![lock.clone()].into()),
                )]),
            ),
        ),
        (
            1,
            request(
                "com.microsoft:receive-by-sequence-number",
                &[],
                map(vec![
                    (
                        "sequence-numbers",
                        Value::Array(vec![Value::Long(1), Value::Long(2)].into()),
                    ),
                    ("receiver-settle-mode", Value::Uint(1)),
                ]),
            ),
        ),
        (
            1,
            request(
                "com.microsoft:update-disposition",
                &[],
                map(vec![
                    ("lock-tokens", Value::Array(vec![lock].into())),
                    ("disposition-status", Value::String("completed".into())),
                ]),
            ),
        ),
        (
            1,
            request(
                "com.microsoft:schedule-message",
                &[],
                map(vec![(
                    "messages",
                    Value::List(vec![map(vec![
                        ("message-id", Value::String("m-2".into())),
                        ("message", Value::Binary(message(None, b"{}").into())),
                    ])]),
                )]),
            ),
        ),
        (
            1,
            request(
                "com.microsoft:cancel-scheduled-message",
                &[],
                map(vec![(
                    "sequence-numbers",
                    Value::Array(vec![Value::Long(1)].into()),
                )]),
            ),
        ),
        (
            2,
            request(
                "com.microsoft:set-session-state",
                &[session()],
                map(vec![
                    ("session-id", Value::String("s-1".into())),
                    ("session-state", Value::Binary(b"state".to_vec().into())),
                ]),
            ),
        ),
        (
            2,
            request(
                "com.microsoft:get-session-state",
                &[],
                map(vec![("session-id", Value::String("s-1".into()))]),
            ),
        ),
        (
            2,
            request(
                "com.microsoft:renew-session-lock",
                &[],
                map(vec![("session-id", Value::String("s-1".into()))]),
            ),
        ),
        (
            2,
            request(
                "com.microsoft:get-message-sessions",
                &[],
                map(vec![
                    ("skip", Value::Int(0)),
                    ("top", Value::Int(10)),
                    (
                        "last-updated-time",
                        Value::Timestamp(Timestamp::from_milliseconds(0)),
                    ),
                ]),
            ),
        ),
        (
            3,
            request(
                "com.microsoft:peek-message",
                &[],
                map(vec![
                    ("from-sequence-number", Value::Long(1)),
                    ("message-count", Value::Int(1)),
                ]),
            ),
        ),
        (4, message(None, b"{\"n\":1}")),
        (5, message(Some("s-1"), b"{\"n\":2}")),
        (6, message(None, b"hello")),
        (7, batch(&[message(None, b"a"), message(Some("s"), b"b")])),
    ]
}

/// `broker_request` inputs: selector byte + payload, plain and with rules, with a receiver.
pub fn scripts() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for (node, payload) in requests() {
        for extra in [0u8, 8, 0x10] {
            let mut input = vec![node | extra];
            input.extend(&payload);
            out.push(input);
        }
    }
    out
}

fn sasl_frame<T: serde::Serialize>(body: &T) -> Vec<u8> {
    raw_frame(1, 0, &serde_amqp::to_vec(body).unwrap())
}

/// Whole client byte streams: SASL (none, ANONYMOUS, PLAIN), a send, a receive with a
/// settlement, `$cbs`, detach, end and close.
pub fn connections() -> Vec<Vec<u8>> {
    use fe2o3_amqp_types::sasl::SaslInit;
    let mut sessions = Vec::new();
    // 1. plain: send to q, receive it back, settle, tear down.
    let mut s = Vec::new();
    s.extend(frame(0, &open("fuzz", Some(60_000)), &[]));
    s.extend(frame(0, &begin(), &[]));
    s.extend(frame(0, &attach("sender", 0, Role::Sender, "q"), &[]));
    s.extend(frame(0, &transfer(0, 0, b"t0"), &message(None, b"{}")));
    s.extend(frame(
        0,
        &attach("fuzz-receiver-0", 1, Role::Receiver, "q"),
        &[],
    ));
    s.extend(frame(0, &link_flow(1, Some(0), 5, false), &[]));
    s.extend(frame(
        0,
        &Disposition {
            role: Role::Receiver,
            first: 0,
            last: Some(0),
            settled: false,
            state: Some(fe2o3_amqp_types::messaging::DeliveryState::Accepted(
                fe2o3_amqp_types::messaging::Accepted {},
            )),
            batchable: false,
        },
        &[],
    ));
    s.extend(frame(
        0,
        &Detach {
            handle: 1.into(),
            closed: true,
            error: None,
        },
        &[],
    ));
    s.extend(frame(0, &End { error: None }, &[]));
    s.extend(frame(0, &Close { error: None }, &[]));
    sessions.push(s);
    // 2. a `$cbs` put-token (the script's frames, without its protocol header).
    let token = sas_token("sb://localhost/sq");
    sessions.push(client_bytes(0, &put_token("sb://localhost/sq", &token, "jwt"))[8..].to_vec());
    let mut out = Vec::new();
    for body in &sessions {
        let mut plain = AMQP_HEADER.to_vec();
        plain.extend(body);
        out.push(plain);
        for (mechanism, response) in [("ANONYMOUS", &b"fuzz"[..]), ("PLAIN", &b"\0user\0pass"[..])]
        {
            let mut sasl = SASL_HEADER.to_vec();
            sasl.extend(sasl_frame(&SaslInit {
                mechanism: Symbol::from(mechanism),
                initial_response: Some(response.to_vec().into()),
                hostname: Some("localhost".into()),
            }));
            sasl.extend(AMQP_HEADER);
            sasl.extend(body);
            out.push(sasl);
        }
    }
    out
}

/// The broker's side of each seed connection (inputs of the host's verdict tap), with the
/// split point of the two reads in front.
pub fn broker_streams() -> Vec<Vec<u8>> {
    let connections = connections().into_iter().map(|c| serve(&c, Auth::Open));
    let scripts = scripts().into_iter().map(|s| crate::script::run(&s));
    connections
        .chain(scripts)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let mut input = vec![(o.len() / 2 % 256) as u8];
            input.extend(o);
            input
        })
        .collect()
}

/// Entities configurations in the broker's TOML.
pub fn entities_toml() -> Vec<Vec<u8>> {
    [
        "[[queues]]\nname = \"orders\"\nrequires_session = true\nlock_duration = \"30s\"\nmax_delivery_count = 5\n",
        "[[queues]]\nname = \"q\"\ndefault_message_time_to_live = \"1h\"\ndead_lettering_on_message_expiration = true\nmax_size_bytes = 1048576\n\n[[topics]]\nname = \"t\"\n\n[[topics.subscriptions]]\nname = \"s\"\nrequires_session = false\n",
        "[[topics]]\nname = \"t\"\n\n[[topics.subscriptions]]\nname = \"s\"\n\n[[topics.subscriptions.rules]]\nname = \"c\"\ncorrelation = { subject = \"x\", correlation_id = \"1\", properties = { color = \"red\", n = 3, f = 1.5, b = true } }\n\n[[topics.subscriptions.rules]]\nname = \"no\"\nfilter = false\n\n[[topics.subscriptions.rules]]\nname = \"q\"\nsql = \"color = 'red'\"\naction = \"SET x = 1\"\n\n[[topics.subscriptions]]\nname = \"none\"\nrules = []\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect()
}

/// Connection strings of every form the host accepts.
pub fn connection_strings() -> Vec<Vec<u8>> {
    let token = sas_token("sb://localhost/q");
    [
        "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true".to_owned(),
        "Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=Root;SharedAccessKey=abc=;EntityPath=orders".to_owned(),
        format!("Endpoint=sb://localhost;SharedAccessSignature={token}"),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}
