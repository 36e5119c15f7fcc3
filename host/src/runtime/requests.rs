//! Requests from a running handler (`SessionContext`, `MessageActions`) to the pump that
//! owns the session. The pump serves them while it awaits the handler, so the session has
//! one owner and no lock.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use berth::host::{BoxFuture, MessageOps, SessionOps};
use berth::{ErrorKind, ServiceBusError, Settlement};
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

use super::source::DeliveryToken;

type Reply<T> = oneshot::Sender<Result<T, ServiceBusError>>;

/// One request from a handler to its session pump.
pub(crate) enum Request {
    Settle(DeliveryToken, Settlement, Reply<()>),
    GetState(Reply<Option<Bytes>>),
    SetState(Option<Bytes>, Reply<()>),
    RenewLock(Reply<SystemTime>),
}

/// The handler's side of the request channel; implements the SDK's host seams.
#[derive(Clone)]
pub(crate) struct PumpHandle {
    tx: mpsc::Sender<Request>,
    locked_until: Arc<Mutex<Option<SystemTime>>>,
}

impl PumpHandle {
    pub(crate) fn new(
        tx: mpsc::Sender<Request>,
        locked_until: Arc<Mutex<Option<SystemTime>>>,
    ) -> Self {
        PumpHandle { tx, locked_until }
    }

    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Request) -> Result<T, ServiceBusError> {
        let (reply, answer) = oneshot::channel();
        let gone = || {
            ServiceBusError::new(
                ErrorKind::SessionLockLost,
                "the session was released; its operations are no longer available",
            )
        };
        self.tx.send(make(reply)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Settlement for one message of the session.
    pub(crate) fn message_ops(&self, token: DeliveryToken) -> Arc<dyn MessageOps> {
        Arc::new(MessageHandle {
            pump: self.clone(),
            token,
        })
    }
}

impl SessionOps for PumpHandle {
    fn get_state(&self) -> BoxFuture<'_, Result<Option<Bytes>, ServiceBusError>> {
        Box::pin(self.ask(Request::GetState))
    }

    fn set_state(&self, state: Option<Bytes>) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        Box::pin(self.ask(move |reply| Request::SetState(state, reply)))
    }

    fn renew_lock(&self) -> BoxFuture<'_, Result<SystemTime, ServiceBusError>> {
        Box::pin(self.ask(Request::RenewLock))
    }

    fn locked_until(&self) -> Option<SystemTime> {
        *self
            .locked_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

struct MessageHandle {
    pump: PumpHandle,
    token: DeliveryToken,
}

impl MessageOps for MessageHandle {
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        let token = self.token;
        Box::pin(
            self.pump
                .ask(move |reply| Request::Settle(token, settlement, reply)),
        )
    }
}
