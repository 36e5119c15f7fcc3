//! Sending to a queue or topic: one sender link (on its own AMQP session), attached on first
//! use and again after it is lost. Each message waits for the broker's `accepted`; a batch is
//! pipelined (all transfers first, then all outcomes), one link round trip for the lot.
//!
//! Every wait has a deadline (the sender's timeout, 60 s unless set): reconnecting, the
//! attach, link credit and each outcome. An outcome also stops being waited for the moment
//! the connection is lost, since a delivery whose connection died may never be answered. A
//! batch that fails says how many of its messages the broker accepted ([`BatchError`]); a
//! message is only ever counted once the broker's `accepted` arrived.
//!
//! Sent from inside an invocation, a message that carries no trace context of its own gets
//! the invocation's as `traceparent` (and `Diagnostic-Id`, which the Azure SDKs read, and
//! `tracestate`), so the function it triggers continues the trace.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth::trace::{DIAGNOSTIC_ID, TRACEPARENT, TRACESTATE};
use berth::{ErrorKind, Message, ServiceBusError, TraceContext};
use fe2o3_amqp::link::Sender as AmqpSender;
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp_types::definitions::SenderSettleMode;
use fe2o3_amqp_types::messaging::{ApplicationProperties, Data, Message as AmqpMessage};
use fe2o3_amqp_types::primitives::SimpleValue;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::client::ServiceBusClient;
use super::connection::Connection;
use super::{convert, errors};

/// How long a send waits for the broker unless [`Sender::with_timeout`] says otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends messages to one queue or topic. Concurrent sends take turns on the link.
pub struct Sender {
    client: ServiceBusClient,
    entity: String,
    timeout: Duration,
    link: Mutex<Option<Link>>,
}

struct Link {
    sender: AmqpSender,
    _session: SessionHandle<()>,
    /// The connection the link is on: its loss ends every wait on the link.
    connection: Arc<Connection>,
}

/// A batch the broker did not accept in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchError {
    /// How many of the batch's messages the broker accepted. Those are at the broker; the
    /// others may or may not be (a message whose answer never came is not counted).
    pub accepted: usize,
    /// Why the rest were not confirmed.
    pub error: ServiceBusError,
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (accepted before that: {})",
            self.error, self.accepted
        )
    }
}

impl std::error::Error for BatchError {}

impl From<BatchError> for ServiceBusError {
    fn from(e: BatchError) -> Self {
        e.error
    }
}

/// How a batch went on one link.
struct Sent {
    /// Whether any transfer went out (after which a retry could duplicate messages).
    transferred: bool,
    /// How many the broker accepted.
    accepted: usize,
    /// The first failure.
    error: Option<ServiceBusError>,
}

impl Sender {
    pub(crate) fn new(client: ServiceBusClient, entity: String) -> Self {
        Sender {
            client,
            entity,
            timeout: DEFAULT_TIMEOUT,
            link: Mutex::new(None),
        }
    }

    /// How long one send may wait for the broker in all (reconnecting, attaching, credit,
    /// the outcomes) before it fails with [`ErrorKind::Timeout`]. Default 60 s.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
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
    /// On failure some of the messages may have been accepted already
    /// ([`send_batch_counted`](Self::send_batch_counted) says how many).
    pub async fn send_batch(&self, messages: &[Message]) -> Result<(), ServiceBusError> {
        self.send_batch_counted(messages)
            .await
            .map_err(ServiceBusError::from)
    }

    /// Sends messages as [`send_batch`](Self::send_batch) does; a failure says how many of
    /// them the broker accepted.
    pub async fn send_batch_counted(&self, messages: &[Message]) -> Result<(), BatchError> {
        let deadline = Instant::now() + self.timeout;
        let failed = |error| BatchError { accepted: 0, error };
        let mut guard = tokio::time::timeout_at(deadline, self.link.lock())
            .await
            .map_err(|_| failed(self.timed_out("another send on the link")))?;
        let mut retried = false;
        loop {
            if guard.as_ref().is_some_and(|l| l.connection.is_lost()) {
                *guard = None;
            }
            let link = match guard.as_mut() {
                Some(link) => link,
                None => guard.insert(self.attach(deadline).await.map_err(failed)?),
            };
            let sent = self.send_all(link, messages, deadline).await;
            let Some(error) = sent.error else {
                return Ok(());
            };
            // A link that failed, or has deliveries whose fate is unknown, is not reused.
            if matches!(error.kind, ErrorKind::Connection | ErrorKind::Timeout) {
                *guard = None;
            }
            // Nothing was transferred yet when the very first transfer found the link gone:
            // that case is retried once on a new link.
            if error.kind == ErrorKind::Connection && !sent.transferred && !retried {
                retried = true;
                continue;
            }
            return Err(BatchError {
                accepted: sent.accepted,
                error,
            });
        }
    }

    /// Attaches a new link, by `deadline`.
    async fn attach(&self, deadline: Instant) -> Result<Link, ServiceBusError> {
        let connection = self
            .within(deadline, "connecting", self.client.connection())
            .await??;
        self.within(deadline, "the token", connection.authorize(&self.entity))
            .await??;
        // The AMQP session and the attach run on a task of their own and are never abandoned
        // half-way (fe2o3-amqp closes the whole connection when a frame arrives for an AMQP
        // session it dropped); a link that attaches after the deadline is simply dropped,
        // which detaches it.
        let name = self.client.endpoint().link_name("sender");
        let attaching = tokio::spawn(attach_link(connection, name, self.entity.clone()));
        match self.within(deadline, "the attach", attaching).await? {
            Ok(attached) => attached,
            Err(e) => Err(ServiceBusError::new(
                ErrorKind::Other,
                format!("the attach task failed: {e}"),
            )),
        }
    }

    /// Transfers every message, then waits for every outcome, each wait bounded by
    /// `deadline` and by the connection's loss.
    async fn send_all(&self, link: &mut Link, messages: &[Message], deadline: Instant) -> Sent {
        let connection = link.connection.clone();
        let mut pending = Vec::with_capacity(messages.len());
        let mut transfer_error = None;
        let trace = TraceContext::current().map(|t| (t.traceparent(), t.trace_state));
        for message in messages {
            let mut amqp = convert::to_amqp(message);
            if let Some((traceparent, trace_state)) = &trace {
                stamp_trace(&mut amqp, message, traceparent, trace_state.as_deref());
            }
            let transfer = link.sender.send_batchable(amqp);
            match self
                .on_link(&connection, deadline, "link credit", transfer)
                .await
            {
                Ok(Ok(outcome)) => pending.push(outcome),
                Ok(Err(e)) => {
                    transfer_error = Some(errors::from_send(&e));
                    break;
                }
                Err(e) => {
                    transfer_error = Some(e);
                    break;
                }
            }
        }
        let mut sent = Sent {
            transferred: !pending.is_empty(),
            accepted: 0,
            error: None,
        };
        for outcome in pending {
            let answer = "the broker's answer";
            match self.on_link(&connection, deadline, answer, outcome).await {
                Ok(outcome) => match errors::from_outcome(outcome, "message") {
                    None => sent.accepted += 1,
                    Some(e) => {
                        sent.error.get_or_insert(e);
                    }
                },
                // The rest will not be answered: their fate is unknown.
                Err(e) => {
                    sent.error.get_or_insert(e);
                    break;
                }
            }
        }
        sent.error = sent.error.or(transfer_error);
        sent
    }

    /// Waits for `future` until `deadline`.
    async fn within<T>(
        &self,
        deadline: Instant,
        what: &str,
        future: impl Future<Output = T>,
    ) -> Result<T, ServiceBusError> {
        tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| self.timed_out(what))
    }

    /// Waits for `future` until `deadline` or until `connection` is lost, whichever comes
    /// first; a result that is already there wins.
    async fn on_link<T>(
        &self,
        connection: &Connection,
        deadline: Instant,
        what: &str,
        future: impl Future<Output = T>,
    ) -> Result<T, ServiceBusError> {
        tokio::select! {
            biased;
            out = future => Ok(out),
            _ = connection.lost() => Err(ServiceBusError::new(
                ErrorKind::Connection,
                format!(
                    "the connection to {} was lost while waiting for {what}",
                    self.client.endpoint().address()
                ),
            )),
            _ = tokio::time::sleep_until(deadline) => Err(self.timed_out(what)),
        }
    }

    /// The error for a wait that reached the deadline, with the connection's state.
    fn timed_out(&self, what: &str) -> ServiceBusError {
        let mut text = format!(
            "no {what} from {} within the send timeout ({} ms)",
            self.client.endpoint().address(),
            self.timeout.as_millis()
        );
        if let Err(why) = self.client.probe().status() {
            text.push_str(&format!("; {why}"));
        }
        ServiceBusError::new(ErrorKind::Timeout, text)
    }
}

/// Begins an AMQP session and attaches a sender link to `entity` on it.
async fn attach_link(
    connection: Arc<Connection>,
    name: String,
    entity: String,
) -> Result<Link, ServiceBusError> {
    let mut session = connection.begin_session().await?;
    let sender = AmqpSender::builder()
        .name(name.as_str())
        .source(name.as_str())
        .target(entity)
        .sender_settle_mode(SenderSettleMode::Unsettled)
        .attach(&mut session)
        .await
        .map_err(|e| errors::from_sender_attach(&e))?;
    Ok(Link {
        sender,
        _session: session,
        connection,
    })
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
