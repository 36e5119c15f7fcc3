//! SAS rule rights and token expiry, over real sockets against the real broker with an AMQP
//! client (fe2o3-amqp) that puts its own `$cbs` tokens: a Listen-only token cannot attach a
//! sender (Azure's `amqp:unauthorized-access` "'Send' claim(s) are required"), `$management`
//! operations need their claim, and a link whose token expires is detached unless a fresh
//! token is put in time.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_emulator::broker::{Broker, BrokerError, RunningBroker};
use berth_emulator::rights::parse_rule;
use berth_emulator::sas;
use fe2o3_amqp::link::{DetachError, Receiver, Sender, SenderAttachError};
use fe2o3_amqp::{Connection, Session};
use fe2o3_amqp_types::messaging::{ApplicationProperties, Body, Message, Properties};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Value};

const ENTITIES: &str = "[[queues]]\nname = \"q\"\n";
const WAIT: Duration = Duration::from_secs(20);

async fn start() -> RunningBroker {
    // `RUST_LOG=berth_emulator=debug` shows the broker's side of a failing test.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    Broker::builder()
        .address("127.0.0.1:0".parse().unwrap())
        .entities_toml(ENTITIES)
        .unwrap()
        .rule(parse_rule("root=root-key").unwrap())
        .rule(parse_rule("reader=reader-key:Listen").unwrap())
        .rule(parse_rule("writer=writer-key:Send").unwrap())
        .start()
        .await
        .unwrap()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A SAS token for `sb://<broker>/<entity>` signed with `rule`'s key, expiring at `se`.
fn token(broker: &RunningBroker, entity: &str, rule: &str, key: &str, se: u64) -> String {
    let resource = format!("sb%3A%2F%2F{}%2F{entity}", broker.local_addr());
    let sig = sas::sign(key, &resource, &se.to_string())
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    format!("SharedAccessSignature sr={resource}&sig={sig}&se={se}&skn={rule}")
}

/// One connection with a request/response pair on `$cbs` (and on a `$management` node when
/// asked).
struct Client {
    connection: fe2o3_amqp::connection::ConnectionHandle<()>,
    session: fe2o3_amqp::session::SessionHandle<()>,
    cbs: Pair,
}

/// A request/response link pair on one node.
struct Pair {
    sender: Sender,
    receiver: Receiver,
    reply_to: String,
}

impl Client {
    async fn connect(broker: &RunningBroker) -> Client {
        let url = format!("amqp://{}", broker.local_addr());
        let mut connection = Connection::open("auth-test", url.as_str()).await.unwrap();
        let mut session = Session::begin(&mut connection).await.unwrap();
        let cbs = request_pair(&mut session, "$cbs").await;
        Client {
            connection,
            session,
            cbs,
        }
    }

    /// Puts `token` for the queue's audience; returns the status code.
    async fn put_token(&mut self, broker: &RunningBroker, token: &str) -> i64 {
        let audience = format!("sb://{}/q", broker.local_addr());
        let properties = [
            ("operation", "put-token"),
            ("type", "servicebus.windows.net:sastoken"),
            ("name", audience.as_str()),
        ];
        let reply = call(&mut self.cbs, &properties, Value::String(token.into())).await;
        status(&reply, "status-code")
    }
}

async fn request_pair(session: &mut fe2o3_amqp::session::SessionHandle<()>, node: &str) -> Pair {
    let reply_to = format!("{node}-replies");
    let sender = Sender::builder()
        .name(format!("{node}-requests"))
        .source(reply_to.as_str())
        .target(node)
        .attach(session)
        .await
        .unwrap();
    let receiver = Receiver::builder()
        .name(reply_to.as_str())
        .source(node)
        .target(reply_to.as_str())
        .attach(session)
        .await
        .unwrap();
    Pair {
        sender,
        receiver,
        reply_to,
    }
}

/// The error of a refused sender attach: Service Bus (and this broker) answers with an
/// attach and then a detach carrying the error, so the attach may look successful first.
async fn sender_refusal(
    attached: Result<Sender, SenderAttachError>,
) -> fe2o3_amqp_types::definitions::Error {
    match attached {
        Err(SenderAttachError::RemoteClosedWithError(error)) => error,
        Ok(mut sender) => match tokio::time::timeout(WAIT, sender.on_detach()).await {
            Ok(DetachError::RemoteClosedWithError(e) | DetachError::RemoteDetachedWithError(e)) => {
                e
            }
            other => panic!("expected the sender to be detached with an error, got {other:?}"),
        },
        Err(other) => panic!("expected a refused sender attach, got {other:?}"),
    }
}

/// The description of `error`, asserted to carry `amqp:unauthorized-access`.
fn unauthorised_description(error: fe2o3_amqp_types::definitions::Error) -> String {
    assert!(
        format!("{:?}", error.condition).contains("UnauthorizedAccess"),
        "{:?}",
        error.condition
    );
    error.description.unwrap_or_default()
}

/// Sends one request and returns the reply's application properties.
async fn call(
    pair: &mut Pair,
    properties: &[(&str, &str)],
    body: Value,
) -> OrderedMap<String, SimpleValue> {
    let mut map = OrderedMap::new();
    for (k, v) in properties {
        map.insert((*k).to_owned(), SimpleValue::String((*v).to_owned()));
    }
    let message = Message::builder()
        .properties(
            Properties::builder()
                .message_id(1u64)
                .reply_to(pair.reply_to.as_str())
                .build(),
        )
        .application_properties(ApplicationProperties(map))
        .value(body)
        .build();
    pair.sender.send(message).await.unwrap();
    let delivery = tokio::time::timeout(WAIT, pair.receiver.recv::<Body<Value>>())
        .await
        .expect("a reply within 20 s")
        .unwrap();
    pair.receiver.accept(&delivery).await.unwrap();
    delivery
        .message()
        .application_properties
        .as_ref()
        .map(|p| p.0.clone())
        .unwrap_or_default()
}

fn status(reply: &OrderedMap<String, SimpleValue>, key: &str) -> i64 {
    match reply.get(key) {
        Some(SimpleValue::Int(code)) => i64::from(*code),
        other => panic!("no {key} in the reply: {other:?} ({reply:?})"),
    }
}

fn text(reply: &OrderedMap<String, SimpleValue>, key: &str) -> String {
    match reply.get(key) {
        Some(SimpleValue::String(text)) => text.clone(),
        Some(SimpleValue::Symbol(symbol)) => symbol.as_str().to_owned(),
        other => panic!("no {key} in the reply: {other:?}"),
    }
}

#[tokio::test]
async fn a_listen_only_token_receives_but_cannot_attach_a_sender() {
    let broker = start().await;
    let mut client = Client::connect(&broker).await;
    let reader = token(&broker, "q", "reader", "reader-key", unix_now() + 600);
    assert_eq!(client.put_token(&broker, &reader).await, 202);

    let error = sender_refusal(Sender::attach(&mut client.session, "send-q", "q").await).await;
    let description = unauthorised_description(error);
    assert!(
        description.contains("Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: 'sb://")
            && description.contains("TrackingId:"),
        "{description}"
    );
    // On a new session: after a refusal with a null terminus (as Service Bus answers),
    // fe2o3 sometimes leaves the refused link's session unusable for the next attach.
    let mut session = Session::begin(&mut client.connection).await.unwrap();
    Receiver::attach(&mut session, "receive-q", "q")
        .await
        .expect("Listen allows a receiver");
    broker.shutdown().await;
}

#[tokio::test]
async fn management_operations_need_their_claim() {
    let broker = start().await;
    let mut client = Client::connect(&broker).await;
    let writer = token(&broker, "q", "writer", "writer-key", unix_now() + 600);
    assert_eq!(client.put_token(&broker, &writer).await, 202);
    let mut management = request_pair(&mut client.session, "q/$management").await;
    let peek = [("operation", "com.microsoft:peek-message")];
    let mut body = OrderedMap::new();
    body.insert(Value::String("from-sequence-number".into()), Value::Long(1));
    body.insert(Value::String("message-count".into()), Value::Int(1));
    let reply = call(&mut management, &peek, Value::Map(body.clone())).await;
    assert_eq!(status(&reply, "statusCode"), 401, "{reply:?}");
    assert_eq!(text(&reply, "errorCondition"), "amqp:unauthorized-access");
    assert!(
        text(&reply, "statusDescription").contains("'Listen' claim(s) are required"),
        "{reply:?}"
    );

    // A fresh token from a rule with Listen lets the same link peek (nothing there: 204).
    let root = token(&broker, "q", "root", "root-key", unix_now() + 600);
    assert_eq!(client.put_token(&broker, &root).await, 202);
    let reply = call(&mut management, &peek, Value::Map(body)).await;
    assert_eq!(status(&reply, "statusCode"), 204, "{reply:?}");
    broker.shutdown().await;
}

#[tokio::test]
async fn an_expiring_token_detaches_its_links_unless_a_fresh_one_is_put() {
    let broker = start().await;
    let expiry = unix_now() + 2;
    let short = token(&broker, "q", "root", "root-key", expiry);

    let mut lapsing = Client::connect(&broker).await;
    assert_eq!(lapsing.put_token(&broker, &short).await, 202);
    let mut lapsing_sender = Sender::attach(&mut lapsing.session, "lapsing", "q")
        .await
        .unwrap();

    let mut renewing = Client::connect(&broker).await;
    assert_eq!(renewing.put_token(&broker, &short).await, 202);
    let mut renewed_sender = Sender::attach(&mut renewing.session, "renewed", "q")
        .await
        .unwrap();
    let fresh = token(&broker, "q", "root", "root-key", unix_now() + 600);
    assert_eq!(renewing.put_token(&broker, &fresh).await, 202);

    let detached = tokio::time::timeout(WAIT, lapsing_sender.on_detach())
        .await
        .expect("the link with the expired token detached within 20 s");
    let error = match detached {
        DetachError::RemoteClosedWithError(e) | DetachError::RemoteDetachedWithError(e) => e,
        other => panic!("expected a detach with an error, got {other:?}"),
    };
    let description = unauthorised_description(error);
    assert!(
        description.contains("force detached. Code: RenewToken")
            && description.contains("ExpiredToken")
            && description.contains("'Send' claim(s) are required"),
        "{description}"
    );
    // Past the first token's expiry the renewed link still sends (the scenario: waiting for
    // the wall clock to pass the expiry).
    while unix_now() <= expiry {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    renewed_sender
        .send(
            Message::builder()
                .data(b"still authorised".to_vec())
                .build(),
        )
        .await
        .expect("the renewed link still sends after the first token expired");
    assert_eq!(
        broker
            .namespace()
            .receiver("q")
            .unwrap()
            .counts()
            .unwrap()
            .active,
        1
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn an_open_broker_is_refused_off_loopback_unless_allowed() {
    let any = "0.0.0.0:0".parse().unwrap();
    let open = Broker::builder().address(any).start().await;
    let Err(BrokerError::Exposed(error)) = open else {
        panic!("a broker without rules on 0.0.0.0 must be refused: {open:?}");
    };
    let text = error.to_string();
    assert!(
        text.contains("0.0.0.0:0")
            && text.contains("--sas-rule NAME=KEY")
            && text.contains("allow_anonymous = true"),
        "{text}"
    );
    let jwt = Broker::builder()
        .address(any)
        .sas_rule("root", "k")
        .dev_jwt(true)
        .start()
        .await;
    assert!(
        matches!(&jwt, Err(BrokerError::Exposed(e)) if e.reason.contains("development JWTs")),
        "{jwt:?}"
    );
    let secured = Broker::builder()
        .address(any)
        .sas_rule("root", "k")
        .start()
        .await;
    secured
        .expect("with a rule it may listen anywhere")
        .shutdown()
        .await;
    let allowed = Broker::builder()
        .address(any)
        .allow_anonymous(true)
        .start()
        .await;
    allowed.expect("allowed explicitly").shutdown().await;
}
