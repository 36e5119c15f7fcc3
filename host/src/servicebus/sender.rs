//! Sending to a queue or topic: one sender link (on its own AMQP session), attached on first
//! use and again after it is lost. Each message waits for the broker's `accepted`; a batch is
//! pipelined (all transfers first, then all outcomes), one link round trip for the lot.
//!
//! Sent from inside an invocation, a message that carries no trace context of its own gets
//! the invocation's as `traceparent` (and `Diagnostic-Id`, which the Azure SDKs read, and
//! `tracestate`), so the function it triggers continues the trace.

use berth::trace::{DIAGNOSTIC_ID, TRACEPARENT, TRACESTATE};
use berth::{ErrorKind, Message, ServiceBusError, TraceContext};
use fe2o3_amqp::link::Sender as AmqpSender;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp_types::definitions::SenderSettleMode;
use fe2o3_amqp_types::messaging::{ApplicationProperties, Data, Message as AmqpMessage};
use fe2o3_amqp_types::primitives::SimpleValue;
use tokio::sync::Mutex;

use super::client::ServiceBusClient;
use super::{convert, errors};

/// Sends messages to one queue or topic. Concurrent sends take turns on the link.
pub struct Sender {
    client: ServiceBusClient,
    entity: String,
    link: Mutex<Option<Link>>,
}

struct Link {
    sender: AmqpSender,
    _session: SessionHandle<()>,
}

impl Sender {
    pub(crate) fn new(client: ServiceBusClient, entity: String) -> Self {
        Sender {
            client,
            entity,
            link: Mutex::new(None),
        }
    }

    /// The queue or topic this sender sends to.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// Sends one message and waits until the broker accepted it.
    pub async fn send(&self, message: &Message) -> Result<(), ServiceBusError> {
        self.send_batch(std::slice::from_ref(message)).await
    }

    /// Sends messages in order, pipelined, and waits until the broker accepted every one.
    /// On failure some of the messages may have been accepted already.
    pub async fn send_batch(&self, messages: &[Message]) -> Result<(), ServiceBusError> {
        let mut guard = self.link.lock().await;
        let mut retried = false;
        loop {
            let link = match guard.as_mut() {
                Some(link) => link,
                None => guard.insert(self.attach().await?),
            };
            let (sent_any, result) = send_all(&mut link.sender, messages).await;
            match result {
                Err(e) if e.kind == ErrorKind::Connection => {
                    // The link is gone; attach a new one. Nothing was transferred yet when
                    // the very first transfer failed, so that case is retried once at once.
                    *guard = None;
                    if sent_any || retried {
                        return Err(e);
                    }
                    retried = true;
                }
                result => return result,
            }
        }
    }

    async fn attach(&self) -> Result<Link, ServiceBusError> {
        let connection = self.client.connection().await?;
        connection.authorize(&self.entity).await?;
        let mut session = connection.begin_session().await?;
        let name = self.client.endpoint().link_name("sender");
        let sender = AmqpSender::builder()
            .name(name.as_str())
            .source(name.as_str())
            .target(self.entity.as_str())
            .sender_settle_mode(SenderSettleMode::Unsettled)
            .attach(&mut session)
            .await
            .map_err(|e| errors::from_sender_attach(&e))?;
        Ok(Link {
            sender,
            _session: session,
        })
    }
}

/// Transfers every message, then waits for every outcome. Also says whether any transfer
/// went out (after which a retry could duplicate messages).
async fn send_all(
    sender: &mut AmqpSender,
    messages: &[Message],
) -> (bool, Result<(), ServiceBusError>) {
    let mut pending = Vec::with_capacity(messages.len());
    let trace = TraceContext::current().map(|t| (t.traceparent(), t.trace_state));
    for message in messages {
        let mut amqp = convert::to_amqp(message);
        if let Some((traceparent, trace_state)) = &trace {
            stamp_trace(&mut amqp, message, traceparent, trace_state.as_deref());
        }
        match sender.send_batchable(amqp).await {
            Ok(fut) => pending.push(fut),
            Err(e) => return (!pending.is_empty(), Err(errors::from_send(&e))),
        }
    }
    for fut in pending {
        if let Some(error) = errors::from_outcome(fut.await, "message") {
            return (true, Err(error));
        }
    }
    (true, Ok(()))
}

/// Adds the sending invocation's trace context, unless the message has one already.
fn stamp_trace(
    amqp: &mut AmqpMessage<Data>,
    message: &Message,
    traceparent: &str,
    trace_state: Option<&str>,
) {
    let own = &message.application_properties;
    if own.contains_key(TRACEPARENT) || own.contains_key(DIAGNOSTIC_ID) {
        return;
    }
    let properties = &mut amqp
        .application_properties
        .get_or_insert_with(|| ApplicationProperties(Default::default()))
        .0;
    let text = |s: &str| SimpleValue::String(s.to_owned());
    properties.insert(TRACEPARENT.to_owned(), text(traceparent));
    properties.insert(DIAGNOSTIC_ID.to_owned(), text(traceparent));
    if let (Some(state), false) = (trace_state, own.contains_key(TRACESTATE)) {
        properties.insert(TRACESTATE.to_owned(), text(state));
    }
}
