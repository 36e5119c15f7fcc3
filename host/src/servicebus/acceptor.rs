//! Accepting sessions: a receive link whose source carries the `com.microsoft:session-filter`
//! (null = next available, a plain string = that session), `rcv-settle-mode=second`, and the
//! `com.microsoft:timeout` link property bounding how long the broker holds the attach.
//!
//! The broker answers with the accepted session id in the echoed filter and the lock expiry
//! in the `com.microsoft:locked-until-utc` link property (.NET ticks). "No session now"
//! arrives as a detach with `com.microsoft:timeout` (nothing available in time) or
//! `com.microsoft:session-cannot-be-locked` (the named session is held elsewhere): normal
//! outcomes, retried quietly.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp::link::{CreditMode, Receiver};
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp_types::definitions::{Fields, ReceiverSettleMode, SenderSettleMode};
use fe2o3_amqp_types::messaging::{Body, Source};
use fe2o3_amqp_types::primitives::{Symbol, Value};
use tracing::debug;

use super::client::ServiceBusClient;
use super::errors::{self, SESSION_CANNOT_BE_LOCKED, TIMEOUT};
use super::peek_lock::PeekLockReceiver;
use super::session_receiver::AmqpSession;
use super::ticks;
use crate::ops::ReceiverProbe;
use crate::runtime::{SessionSource, SourceSession};

/// The filter key that selects a session.
const SESSION_FILTER: &str = "com.microsoft:session-filter";
/// The link property carrying the session lock expiry.
const LOCKED_UNTIL: &str = "com.microsoft:locked-until-utc";
/// How long to wait for the broker's detach after an attach without a session id.
const DETACH_WAIT: Duration = Duration::from_secs(10);

/// Accepts sessions of one session-enabled queue or subscription.
#[derive(Clone)]
pub struct AmqpSessionSource {
    client: ServiceBusClient,
    entity: String,
    prefetch: u32,
    accept_timeout: Duration,
    probe: Arc<ReceiverProbe>,
    /// Accepts that showed accepting works (see [`SessionSource::working_accepts`]).
    working: Arc<AtomicU64>,
}

/// What one attach attempt gave.
enum Attempt {
    Accepted(Box<AmqpSession>),
    NoSession(String),
}

impl AmqpSessionSource {
    /// A source for `entity` (`queue` or `topic/Subscriptions/sub`).
    pub fn new(client: ServiceBusClient, entity: String, prefetch: u32) -> Self {
        let probe = Arc::new(ReceiverProbe::new(client.probe().clone()));
        AmqpSessionSource {
            client,
            entity,
            prefetch,
            accept_timeout: Duration::from_secs(60),
            probe,
            working: Arc::default(),
        }
    }

    /// How long the broker may hold one next-available attach (`com.microsoft:timeout`;
    /// default 60 s). `accept_next` simply tries again when it passes.
    pub fn with_accept_timeout(mut self, timeout: Duration) -> Self {
        self.accept_timeout = timeout;
        self
    }

    /// The entity path.
    pub fn entity(&self) -> &str {
        &self.entity
    }

    /// What this source reports for `/readyz`: live while accepting works (an accept
    /// pending at the broker counts), failed after an accept failed.
    pub fn probe(&self) -> &Arc<ReceiverProbe> {
        &self.probe
    }

    /// Reports how an accept went.
    fn report<T>(&self, result: Result<T, ServiceBusError>) -> Result<T, ServiceBusError> {
        match &result {
            Ok(_) => self.probe.live(),
            Err(e) => self.probe.failed(e),
        }
        result
    }

    async fn begin(
        &self,
    ) -> Result<
        (
            std::sync::Arc<super::connection::Connection>,
            SessionHandle<()>,
        ),
        ServiceBusError,
    > {
        let connection = self.client.connection().await?;
        connection.authorize(&self.entity).await?;
        let session = connection.begin_session().await?;
        Ok((connection, session))
    }

    async fn attempt(
        &self,
        connection: std::sync::Arc<super::connection::Connection>,
        mut session: SessionHandle<()>,
        session_id: Option<&str>,
    ) -> Result<Attempt, ServiceBusError> {
        let name = self.client.endpoint().link_name("session");
        let filter = session_id.map_or(Value::Null, |id| Value::String(id.to_owned()));
        let source = Source::builder()
            .address(self.entity.as_str())
            .add_to_filter_using_legacy_format(Symbol::from(SESSION_FILTER), filter)
            .build();
        let mut properties = Fields::new();
        if session_id.is_none() {
            let ms = u32::try_from(self.accept_timeout.as_millis()).unwrap_or(u32::MAX);
            properties.insert(Symbol::from(TIMEOUT), Value::Uint(ms));
        }
        let verdicts = connection.watch_verdicts(&name);
        let attached = Receiver::builder()
            .name(name.as_str())
            .source(source)
            .target(format!("{name}-target"))
            .sender_settle_mode(SenderSettleMode::Unsettled)
            .receiver_settle_mode(ReceiverSettleMode::Second)
            .credit_mode(CreditMode::Manual)
            .verify_incoming_source(false)
            .properties(properties)
            .attach(&mut session)
            .await;
        let mut receiver = match attached {
            Ok(receiver) => receiver,
            Err(e) => return no_session_or(errors::from_receiver_attach(&e)),
        };
        let locked_until = receiver.properties(|p| {
            p.as_ref()
                .and_then(|p| p.get(&Symbol::from(LOCKED_UNTIL)))
                .and_then(ticks::locked_until)
        });
        // An accepted session comes with its id and its lock expiry. A refusal echoes the
        // attach (the requested id included) without the lock and detaches at once.
        let (Some(accepted), Some(locked_until)) = (echoed_session_id(&receiver), locked_until)
        else {
            return match tokio::time::timeout(DETACH_WAIT, receiver.recv::<Body<Value>>()).await {
                Ok(Err(e)) => no_session_or(errors::from_recv(&e)),
                _ => {
                    let _ = receiver.close().await;
                    Err(ServiceBusError::new(
                        ErrorKind::Other,
                        "the broker attached the session receiver without a session id and lock expiry",
                    ))
                }
            };
        };
        if let Some(wanted) = session_id.filter(|wanted| *wanted != accepted) {
            let _ = receiver.close().await;
            return Err(ServiceBusError::new(
                ErrorKind::Other,
                format!("asked for session '{wanted}', the broker gave '{accepted}'"),
            ));
        }
        let management = connection.management(&self.entity).await?;
        Ok(Attempt::Accepted(Box::new(AmqpSession::new(
            accepted,
            Some(locked_until),
            PeekLockReceiver::new(receiver, self.prefetch, verdicts),
            session,
            management,
        ))))
    }
}

impl AmqpSessionSource {
    /// One accept attempt on a task of its own, so that the caller may drop the future at
    /// any point (shutdown, a slot handed elsewhere): fe2o3-amqp closes the whole connection
    /// when a frame arrives for an AMQP session it has dropped, so an attach must never be
    /// abandoned half-way. A session accepted after the caller went away is released.
    async fn detached_attempt(
        &self,
        session_id: Option<String>,
    ) -> Result<Attempt, ServiceBusError> {
        let source = self.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let attempt = async {
                let (connection, session) = source.report(source.begin().await)?;
                let attempt = source
                    .attempt(connection, session, session_id.as_deref())
                    .await;
                if shows_accepting_works(&attempt) {
                    source.working.fetch_add(1, Ordering::Relaxed);
                }
                source.report(attempt)
            };
            if let Err(Ok(Attempt::Accepted(orphan))) = tx.send(attempt.await) {
                orphan.release().await;
            }
        });
        rx.await.unwrap_or_else(|_| {
            Err(ServiceBusError::new(
                ErrorKind::Other,
                "the session accept task stopped",
            ))
        })
    }
}

/// Whether an attempt that got as far as the attach (the connection open, the entity's
/// token accepted, the AMQP session begun) shows that accepting works: the broker answered
/// it, or held it until the connection or session dropped. A refusal does not.
fn shows_accepting_works(attempt: &Result<Attempt, ServiceBusError>) -> bool {
    match attempt {
        Ok(_) => true,
        Err(e) => e.kind == ErrorKind::Connection,
    }
}

/// "No session now" for the conditions that mean it, else the error.
fn no_session_or(error: ServiceBusError) -> Result<Attempt, ServiceBusError> {
    if errors::has_condition(&error, TIMEOUT)
        || errors::has_condition(&error, SESSION_CANNOT_BE_LOCKED)
    {
        Ok(Attempt::NoSession(error.message))
    } else {
        Err(error)
    }
}

/// The session id the broker put in the echoed filter (a plain string; a described string is
/// tolerated).
fn echoed_session_id(receiver: &Receiver) -> Option<String> {
    let filter = receiver.source().as_ref()?.filter.as_ref()?;
    match filter.get(&Symbol::from(SESSION_FILTER))? {
        Value::String(id) => Some(id.clone()),
        Value::Described(d) => match &d.value {
            Value::String(id) => Some(id.clone()),
            _ => None,
        },
        _ => None,
    }
}

impl SessionSource for AmqpSessionSource {
    type Session = AmqpSession;

    fn working_accepts(&self) -> u64 {
        self.working.load(Ordering::Relaxed)
    }

    async fn accept_next(&self) -> Result<Option<AmqpSession>, ServiceBusError> {
        loop {
            if self.client.is_closed() {
                return Ok(None);
            }
            match self.detached_attempt(None).await? {
                Attempt::Accepted(s) => return Ok(Some(*s)),
                Attempt::NoSession(reason) => {
                    debug!(entity = %self.entity, %reason, "no session available yet; waiting again")
                }
            }
        }
    }

    async fn accept_session(
        &self,
        session_id: &str,
    ) -> Result<Option<AmqpSession>, ServiceBusError> {
        if self.client.is_closed() {
            return Ok(None);
        }
        match self.detached_attempt(Some(session_id.to_owned())).await? {
            Attempt::Accepted(s) => Ok(Some(*s)),
            Attempt::NoSession(reason) => Err(ServiceBusError::new(
                ErrorKind::SessionCannotBeLocked,
                reason,
            )),
        }
    }
}
