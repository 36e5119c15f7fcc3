//! One accepted session: its receive link (on its own AMQP session) and the entity's
//! `$management` node for state and lock renewal. Messages are settled on the link, which
//! waits for the broker's verdict (`peek_lock`): a lost session lock is reported
//! (`SessionLockLost`) instead of the settlement vanishing.

use std::time::{Duration, SystemTime};

use berth::{ErrorKind, Message, ServiceBusError, Settlement};
use bytes::Bytes;
use fe2o3_amqp::session::SessionHandle;

use super::management::Management;
use super::peek_lock::PeekLockReceiver;
use crate::runtime::{DeliveryToken, Received, SourceSession};

/// How long closing the link and ending the AMQP session may take on release.
const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

/// A session accepted by [`super::AmqpSessionSource`].
pub struct AmqpSession {
    session_id: String,
    locked_until: Option<SystemTime>,
    link: PeekLockReceiver,
    amqp_session: SessionHandle<()>,
    management: Management,
}

impl AmqpSession {
    pub(crate) fn new(
        session_id: String,
        locked_until: Option<SystemTime>,
        link: PeekLockReceiver,
        amqp_session: SessionHandle<()>,
        management: Management,
    ) -> Self {
        AmqpSession {
            session_id,
            locked_until,
            link,
            amqp_session,
            management,
        }
    }

    /// Peeks up to `count` of this session's messages from `from_sequence_number` on,
    /// without locking them.
    pub async fn peek(
        &self,
        from_sequence_number: i64,
        count: i32,
    ) -> Result<Vec<Message>, ServiceBusError> {
        let peeked = self
            .management
            .peek(from_sequence_number, count, Some(&self.session_id))
            .await?;
        Ok(peeked.into_iter().map(|p| p.message).collect())
    }

    fn link_name(&self) -> Option<&str> {
        Some(self.link.name())
    }
}

/// Settling on a link that the broker closed means the session is gone.
fn lost_if_link_gone(error: ServiceBusError) -> ServiceBusError {
    match error.kind {
        ErrorKind::Connection => ServiceBusError::new(
            ErrorKind::SessionLockLost,
            format!("the session's link is gone: {}", error.message),
        ),
        _ => error,
    }
}

impl SourceSession for AmqpSession {
    fn session_id(&self) -> &str {
        &self.session_id
    }

    fn locked_until(&self) -> Option<SystemTime> {
        self.locked_until
    }

    async fn receive(&mut self, max_wait: Duration) -> Result<Option<Received>, ServiceBusError> {
        self.link.ensure_credit().await?;
        match tokio::time::timeout(max_wait, self.link.next()).await {
            Ok(Ok(mut received)) => {
                // Session messages are locked by the session lock.
                received.message.locked_until = self.locked_until;
                Ok(Some(received))
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Ok(None),
        }
    }

    async fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        self.link
            .settle(token, &settlement)
            .await
            .map_err(lost_if_link_gone)
    }

    async fn get_state(&mut self) -> Result<Option<Bytes>, ServiceBusError> {
        self.management
            .get_session_state(&self.session_id, self.link_name())
            .await
    }

    async fn set_state(&mut self, state: Option<Bytes>) -> Result<(), ServiceBusError> {
        self.management
            .set_session_state(&self.session_id, state, self.link_name())
            .await
    }

    async fn renew_lock(&mut self) -> Result<SystemTime, ServiceBusError> {
        let until = self
            .management
            .renew_session_lock(&self.session_id, self.link_name())
            .await?;
        self.locked_until = Some(until);
        Ok(until)
    }

    async fn release(self) {
        let AmqpSession {
            link,
            mut amqp_session,
            ..
        } = self;
        let _ = tokio::time::timeout(RELEASE_TIMEOUT, async move {
            link.close().await;
            let _ = amqp_session.end().await;
        })
        .await;
    }
}
