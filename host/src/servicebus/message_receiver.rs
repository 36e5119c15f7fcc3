//! Receiving from an entity without sessions: one peek-lock link per trigger, owned by a task
//! that the trigger's workers share.
//!
//! The task keeps `max_concurrent_calls + prefetch_count` messages in hand at most (credit is
//! granted for the difference), renews the lock of every message in hand halfway to its
//! expiry (`renew-lock`, for up to `max_auto_lock_renewal_duration`), settles on the link the
//! message came from, and re-attaches after the link or connection is lost. The broker's
//! verdict on a disposition is awaited by the worker that settles, not by the task, so that
//! settlements overlap (a lost lock is reported as `MessageLockLost`). A message received on
//! a link that no longer exists is settled through `update-disposition`, whose answer is the
//! verdict.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use berth::{ErrorKind, ServiceBusError, Settlement};
use fe2o3_amqp::link::{CreditMode, Receiver};
use fe2o3_amqp_types::definitions::{ReceiverSettleMode, SenderSettleMode};
use tokio::sync::{mpsc, oneshot, Mutex};
use tracing::{debug, warn};

use super::client::ServiceBusClient;
use super::management::Management;
use super::peek_lock::PeekLockReceiver;
use super::verdict::Pending;
use crate::backoff::Backoff;
use crate::ops::ReceiverProbe;
use crate::runtime::{DeliveryToken, MessageSource, Received, ReceiverSettings};

/// A settlement's answer: on the link, the disposition sent and its verdict to wait for
/// (by the settling worker, so that the task goes on meanwhile); through `$management`, done.
type Reply = oneshot::Sender<Result<Option<Pending>, ServiceBusError>>;
type Command = (DeliveryToken, Settlement, Reply);
/// The task's inbox (settlements) and outbox (received messages, shared by the workers).
type Channels = (mpsc::Sender<Command>, Mutex<mpsc::Receiver<Received>>);

/// A [`MessageSource`] over a queue or subscription without sessions.
pub struct AmqpMessageSource {
    config: Config,
    started: OnceLock<Channels>,
}

#[derive(Clone)]
struct Config {
    client: ServiceBusClient,
    entity: String,
    window: u32,
    renew_for: Duration,
    probe: Arc<ReceiverProbe>,
}

impl AmqpMessageSource {
    /// A source for `entity`, sized by `settings`.
    pub fn new(client: ServiceBusClient, entity: String, settings: ReceiverSettings) -> Self {
        let probe = Arc::new(ReceiverProbe::new(client.probe().clone()));
        AmqpMessageSource {
            config: Config {
                probe,
                client,
                entity,
                window: settings
                    .max_concurrent_calls
                    .max(1)
                    .saturating_add(settings.prefetch_count),
                renew_for: settings.max_auto_lock_renewal_duration,
            },
            started: OnceLock::new(),
        }
    }

    /// What this source reports for `/readyz` (live while its link is attached) and the
    /// messages it holds that no worker has taken yet.
    pub fn probe(&self) -> &Arc<ReceiverProbe> {
        &self.config.probe
    }

    fn channels(&self) -> &Channels {
        self.started.get_or_init(|| {
            let (commands, command_rx) = mpsc::channel(64);
            let (out, messages) = mpsc::channel(self.config.window as usize);
            tokio::spawn(
                Pump {
                    config: self.config.clone(),
                    link: None,
                    held: HashMap::new(),
                    backoff: Backoff::default(),
                }
                .run(command_rx, out),
            );
            (commands, Mutex::new(messages))
        })
    }
}

impl MessageSource for AmqpMessageSource {
    async fn receive(&self) -> Result<Option<Received>, ServiceBusError> {
        let mut messages = self.channels().1.lock().await;
        let received = messages.recv().await;
        if let (Some(_), Some(metrics)) = (&received, self.config.probe.metrics()) {
            metrics.prefetched().dec();
        }
        Ok(received)
    }

    async fn settle(
        &self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        let (reply, result) = oneshot::channel();
        let gone = || ServiceBusError::new(ErrorKind::Connection, "the receiver stopped");
        self.channels()
            .0
            .send((token, settlement, reply))
            .await
            .map_err(|_| gone())?;
        match result.await.map_err(|_| gone())?? {
            Some(pending) => pending.verdict().await,
            None => Ok(()),
        }
    }
}

struct Link {
    receiver: PeekLockReceiver,
    management: Management,
    _session: fe2o3_amqp::session::SessionHandle<()>,
}

struct Held {
    lock_token: Option<[u8; 16]>,
    renew_at: Option<Instant>,
    renew_until: Instant,
}

struct Pump {
    config: Config,
    link: Option<Link>,
    held: HashMap<DeliveryToken, Held>,
    backoff: Backoff,
}

impl Pump {
    async fn run(mut self, mut commands: mpsc::Receiver<Command>, out: mpsc::Sender<Received>) {
        loop {
            if self.config.client.is_closed() {
                return;
            }
            let Some(link) = self.link.as_mut() else {
                tokio::select! {
                    Some((token, settlement, reply)) = commands.recv() => {
                        let _ = reply.send(self.settle(token, settlement).await);
                    }
                    _ = out.closed() => return,
                    _ = self.attach() => {}
                }
                continue;
            };
            let target = self.config.window.saturating_sub(self.held.len() as u32);
            if let Err(e) = link.receiver.top_up(target).await {
                self.lost(e);
                continue;
            }
            let renew_at = self.held.values().filter_map(|h| h.renew_at).min();
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some((token, settlement, reply)) => {
                        let _ = reply.send(self.settle(token, settlement).await);
                    }
                    None => return,
                },
                _ = out.closed() => return,
                _ = sleep_until(renew_at) => self.renew().await,
                received = link.receiver.next(), if target > 0 => match received {
                    Ok(received) => {
                        self.hold(&received);
                        let metrics = self.config.probe.metrics();
                        if let Some(m) = metrics {
                            m.prefetched().inc();
                        }
                        if out.send(received).await.is_err() {
                            if let Some(m) = metrics {
                                m.prefetched().dec();
                            }
                            return;
                        }
                    }
                    Err(e) => self.lost(e),
                },
            }
        }
    }

    async fn attach(&mut self) {
        match self.try_attach().await {
            Ok(link) => {
                self.backoff.reset();
                self.link = Some(link);
                self.config.probe.live();
            }
            Err(e) => {
                self.config.probe.failed(&e);
                let delay = self.backoff.next_delay();
                warn!(entity = %self.config.entity, error = %e, retry_in_ms = delay.as_millis() as u64, "attaching the receiver failed");
                tokio::time::sleep(delay).await;
            }
        }
    }

    async fn try_attach(&self) -> Result<Link, ServiceBusError> {
        let connection = self.config.client.connection().await?;
        connection.authorize(&self.config.entity).await?;
        let management = connection.management(&self.config.entity).await?;
        let mut session = connection.begin_session().await?;
        let name = self.config.client.endpoint().link_name("receiver");
        let verdicts = connection.watch_verdicts(&name);
        let receiver = Receiver::builder()
            .name(name.as_str())
            .source(self.config.entity.as_str())
            .target(format!("{name}-target"))
            .sender_settle_mode(SenderSettleMode::Unsettled)
            .receiver_settle_mode(ReceiverSettleMode::Second)
            .credit_mode(CreditMode::Manual)
            .attach(&mut session)
            .await
            .map_err(|e| super::errors::from_receiver_attach(&e))?;
        Ok(Link {
            receiver: PeekLockReceiver::new(receiver, 0, verdicts),
            management,
            _session: session,
        })
    }

    fn lost(&mut self, error: ServiceBusError) {
        warn!(entity = %self.config.entity, error = %error, "the receive link was lost; re-attaching");
        self.config
            .probe
            .failed(&format_args!("the receive link was lost: {error}"));
        self.link = None;
    }

    fn hold(&mut self, received: &Received) {
        let now = Instant::now();
        let left = received
            .message
            .locked_until
            .map(|until| until.duration_since(SystemTime::now()).unwrap_or_default());
        let renew_at = left.map(|left| now + left / 2);
        let lock_token = self
            .link
            .as_ref()
            .and_then(|l| l.receiver.lock_token(&received.token));
        self.held.insert(
            received.token,
            Held {
                lock_token,
                renew_at: renew_at.filter(|_| !self.config.renew_for.is_zero()),
                renew_until: now + self.config.renew_for,
            },
        );
    }

    async fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<Option<Pending>, ServiceBusError> {
        let held = self.held.remove(&token);
        if let Some(link) = self.link.as_mut() {
            if link.receiver.holds(&token) {
                return link.receiver.dispose(token, &settlement).await.map(Some);
            }
        }
        let lock_token = held.and_then(|h| h.lock_token).ok_or_else(|| {
            ServiceBusError::new(
                ErrorKind::MessageLockLost,
                "the message's link is gone and it has no lock token to settle it by",
            )
        })?;
        debug!("the message's link is gone; settling through $management");
        let connection = self.config.client.connection().await?;
        let management = connection.management(&self.config.entity).await?;
        management
            .update_disposition(&settlement, lock_token, None)
            .await
            .map(|()| None)
    }

    async fn renew(&mut self) {
        let now = Instant::now();
        let due: Vec<(DeliveryToken, [u8; 16])> = self
            .held
            .iter_mut()
            .filter(|(_, h)| h.renew_at.is_some_and(|at| at <= now))
            .filter_map(|(token, h)| {
                h.renew_at = None;
                (now < h.renew_until).then_some((*token, h.lock_token?))
            })
            .collect();
        let Some(link) = self.link.as_ref().filter(|_| !due.is_empty()) else {
            return;
        };
        let tokens: Vec<[u8; 16]> = due.iter().map(|(_, t)| *t).collect();
        match link
            .management
            .renew_locks(&tokens, Some(link.receiver.name()))
            .await
        {
            Ok(expirations) => {
                if let Some(metrics) = self.config.probe.metrics() {
                    metrics.lock_renewed(expirations.len() as u64);
                }
                for ((token, _), until) in due.iter().zip(expirations) {
                    if let (Some(held), Ok(left)) = (
                        self.held.get_mut(token),
                        until.duration_since(SystemTime::now()),
                    ) {
                        held.renew_at = Some(Instant::now() + left / 2);
                    }
                }
            }
            Err(e) => {
                warn!(entity = %self.config.entity, error = %e, "renewing message locks failed")
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
