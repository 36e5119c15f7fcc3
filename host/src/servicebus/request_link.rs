//! A request/response link pair on one AMQP session (`$cbs`, `<entity>/$management`).
//!
//! One task owns the session and both links; callers send it requests and wait for the
//! response whose `correlation-id` matches their `message-id` (a ulong counter), so requests
//! from many sessions pipeline on one pair. The task ends when every handle is dropped or the
//! link fails; [`RequestLink::closed`] tells when.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp::link::{CreditMode, Receiver, Sender};
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp_types::messaging::{
    AmqpValue, ApplicationProperties, Body, Message, MessageId, Outcome, Properties,
};
use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Value};
use tokio::sync::{mpsc, oneshot};
use tracing::debug;

use super::convert;
use super::errors;

/// One request: the `operation`, further application properties, and the amqp-value body.
pub(crate) struct Request {
    /// The `operation` application property.
    pub operation: &'static str,
    /// Other application properties.
    pub properties: Vec<(&'static str, SimpleValue)>,
    /// The body.
    pub body: Value,
}

/// A response: status, description, error condition and body.
#[derive(Debug, Clone)]
pub(crate) struct Response {
    /// `statusCode` / `status-code`.
    pub status: i64,
    /// `statusDescription` / `status-description`.
    pub description: String,
    /// `errorCondition` / `error-condition`.
    pub condition: Option<String>,
    /// The amqp-value body (`Null` when absent).
    pub body: Value,
}

impl Response {
    /// A value of a map body by string key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match &self.body {
            Value::Map(map) => map.get(&Value::String(key.to_owned())),
            _ => None,
        }
    }
}

type Reply = oneshot::Sender<Result<Response, ServiceBusError>>;
type Pending = Arc<Mutex<HashMap<u64, Reply>>>;

struct Call {
    request: Request,
    reply: Reply,
}

/// A handle to a request/response link pair.
#[derive(Clone)]
pub(crate) struct RequestLink {
    calls: mpsc::Sender<Call>,
}

impl RequestLink {
    /// Attaches a sender to `node` and a receiver from it (replies addressed to
    /// `<name>-reply`) on `session`, which the link pair then owns.
    pub async fn open(
        mut session: SessionHandle<()>,
        node: &str,
        name: &str,
    ) -> Result<RequestLink, ServiceBusError> {
        let reply_to = format!("{name}-reply");
        let sender = Sender::builder()
            .name(format!("{name}-sender"))
            .source(reply_to.as_str())
            .target(node)
            .attach(&mut session)
            .await
            .map_err(|e| errors::from_sender_attach(&e))?;
        let receiver = Receiver::builder()
            .name(format!("{name}-receiver"))
            .source(node)
            .target(reply_to.as_str())
            .credit_mode(CreditMode::Auto(64))
            .attach(&mut session)
            .await
            .map_err(|e| errors::from_receiver_attach(&e))?;
        let (calls, rx) = mpsc::channel(64);
        tokio::spawn(run(session, sender, receiver, rx, reply_to));
        Ok(RequestLink { calls })
    }

    /// Sends `request` and waits at most `timeout` for its response.
    pub async fn call(
        &self,
        request: Request,
        timeout: Duration,
    ) -> Result<Response, ServiceBusError> {
        let (reply, response) = oneshot::channel();
        self.calls
            .send(Call { request, reply })
            .await
            .map_err(|_| closed())?;
        match tokio::time::timeout(timeout, response).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(closed()),
            Err(_) => Err(ServiceBusError::new(
                ErrorKind::Timeout,
                format!("no response within {} ms", timeout.as_millis()),
            )),
        }
    }

    /// Whether the link pair has stopped.
    pub fn is_closed(&self) -> bool {
        self.calls.is_closed()
    }

    /// Resolves when the link pair has stopped (its links failed or the connection dropped).
    pub async fn closed(&self) {
        self.calls.closed().await
    }
}

fn closed() -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Connection,
        "the request/response link closed (connection lost)",
    )
}

async fn run(
    mut session: SessionHandle<()>,
    mut sender: Sender,
    mut receiver: Receiver,
    mut calls: mpsc::Receiver<Call>,
    reply_to: String,
) {
    let pending: Pending = Arc::default();
    let mut next_id = 0u64;
    let failure = loop {
        tokio::select! {
            call = calls.recv() => {
                let Some(Call { request, reply }) = call else { break None };
                next_id += 1;
                let message = to_message(request, next_id, &reply_to);
                match sender.send_batchable(message).await {
                    Ok(outcome) => {
                        let mut waiting = lock(&pending);
                        waiting.retain(|_, r| !r.is_closed());
                        waiting.insert(next_id, reply);
                        drop(waiting);
                        tokio::spawn(watch_outcome(outcome, next_id, pending.clone()));
                    }
                    Err(e) => {
                        let error = errors::from_send(&e);
                        let _ = reply.send(Err(error.clone()));
                        break Some(error);
                    }
                }
            }
            delivery = receiver.recv::<Body<Value>>() => match delivery {
                Ok(delivery) => {
                    let _ = receiver.accept(&delivery).await;
                    route(delivery.into_message(), &pending);
                }
                Err(e) => break Some(errors::from_recv(&e)),
            },
        }
    };
    let error = failure.unwrap_or_else(closed);
    debug!(error = %error, "request/response link stopped");
    for (_, reply) in lock(&pending).drain() {
        let _ = reply.send(Err(error.clone()));
    }
    calls.close();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let _ = sender.close().await;
        let _ = receiver.close().await;
        let _ = session.end().await;
    })
    .await;
}

fn lock(pending: &Pending) -> std::sync::MutexGuard<'_, HashMap<u64, Reply>> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fails the call if the broker does not accept the request transfer.
async fn watch_outcome(
    outcome: fe2o3_amqp::link::delivery::DeliveryFut<Result<Outcome, fe2o3_amqp::link::SendError>>,
    id: u64,
    pending: Pending,
) {
    let Some(error) = errors::from_outcome(outcome.await, "request") else {
        return;
    };
    if let Some(reply) = lock(&pending).remove(&id) {
        let _ = reply.send(Err(error));
    }
}

fn to_message(request: Request, id: u64, reply_to: &str) -> Message<AmqpValue<Value>> {
    let mut properties = OrderedMap::new();
    properties.insert(
        "operation".to_owned(),
        SimpleValue::String(request.operation.to_owned()),
    );
    for (key, value) in request.properties {
        properties.insert(key.to_owned(), value);
    }
    let header = Properties {
        message_id: Some(MessageId::Ulong(id)),
        reply_to: Some(reply_to.to_owned()),
        ..Properties::new()
    };
    Message::builder()
        .properties(header)
        .application_properties(ApplicationProperties(properties))
        .value(request.body)
        .build()
}

fn route(message: Message<Body<Value>>, pending: &Pending) {
    let id = match message
        .properties
        .as_ref()
        .and_then(|p| p.correlation_id.clone())
    {
        Some(MessageId::Ulong(id)) => id,
        Some(MessageId::String(s)) => match s.parse() {
            Ok(id) => id,
            Err(_) => return,
        },
        _ => return,
    };
    let Some(reply) = lock(pending).remove(&id) else {
        return;
    };
    let _ = reply.send(Ok(to_response(message)));
}

/// Reads status, description and condition (either spelling) and the body.
pub(crate) fn to_response(message: Message<Body<Value>>) -> Response {
    let props = message
        .application_properties
        .map(|p| p.0)
        .unwrap_or_default();
    let get = |a: &str, b: &str| props.get(a).or_else(|| props.get(b));
    let text = |v: Option<&SimpleValue>| match v {
        Some(SimpleValue::String(s)) => Some(s.clone()),
        Some(SimpleValue::Symbol(s)) => Some(s.0.clone()),
        _ => None,
    };
    let status = get("statusCode", "status-code")
        .map(|v| Value::from(v.clone()))
        .and_then(|v| convert::integer(&v))
        .unwrap_or(0);
    Response {
        status,
        description: text(get("statusDescription", "status-description")).unwrap_or_default(),
        condition: text(get("errorCondition", "error-condition")),
        body: match message.body {
            Body::Value(AmqpValue(v)) => v,
            _ => Value::Null,
        },
    }
}
