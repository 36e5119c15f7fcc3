//! Entity status (Active, Disabled, SendDisabled, ReceiveDisabled) and the activity clock that
//! auto-delete-on-idle reads, shared by a queue, topic or subscription and its handles.
//!
//! Service Bus refuses the operations a status disables with `MessagingEntityDisabledException`
//! (AMQP condition `com.microsoft:entity-disabled`; the Python SDK raises
//! `MessagingEntityDisabledError`, the JS SDK `MessagingEntityDisabledError`). A subscription
//! is also refused what its topic's status refuses.
//!
//! Service Bus's docs ("Suspend and reactivate messaging entities") say a disabled entity keeps
//! its messages and "messages cannot be removed or added". Chosen where they are silent:
//! "receive" covers everything on the receiving side — receive, peek, settlement, lock renewal,
//! deferred receive and session operations (on the dead-letter sub-queues too); "send" covers
//! sends, scheduling, cancelling and arriving by auto-forwarding (refused ones go to the
//! forwarding entity's transfer dead-letter queue). Links attach either way; the operation is
//! refused. The text is "Messaging entity 'PATH' is currently disabled[ for send operations |
//! for receive operations]." (Service Bus's own adds a tracking id).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::EntityError;

/// The status of a queue, topic or subscription (`EntityStatus` in the SDKs' admin clients).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EntityStatus {
    /// Sends and receives work (the default).
    #[default]
    Active,
    /// Neither sends nor receives (nor settlement, peek or session operations) work; messages
    /// are kept.
    Disabled,
    /// Receives work, sends are refused.
    SendDisabled,
    /// Sends work, receives (and settlement, peek, session operations) are refused.
    ReceiveDisabled,
}

impl EntityStatus {
    /// Whether messages may be sent to (or forwarded into) the entity.
    pub fn can_send(self) -> bool {
        matches!(self, Self::Active | Self::ReceiveDisabled)
    }

    /// Whether messages may be received, peeked or settled.
    pub fn can_receive(self) -> bool {
        matches!(self, Self::Active | Self::SendDisabled)
    }

    /// Service Bus's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "Active",
            Self::Disabled => "Disabled",
            Self::SendDisabled => "SendDisabled",
            Self::ReceiveDisabled => "ReceiveDisabled",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Active => 0,
            Self::Disabled => 1,
            Self::SendDisabled => 2,
            Self::ReceiveDisabled => 3,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Active,
            1 => Self::Disabled,
            2 => Self::SendDisabled,
            3 => Self::ReceiveDisabled,
            _ => return None,
        })
    }
}

impl std::fmt::Display for EntityStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an operation needs the status to allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation {
    Send,
    Receive,
}

/// An entity's live status and last activity; a subscription's points at its topic's.
pub(crate) struct Lifecycle {
    status: AtomicU8,
    /// When it was created; `last_active` counts nanoseconds from there (an atomic, so the hot
    /// path takes no lock to record activity).
    born: Instant,
    last_active: AtomicU64,
    parent: Option<Arc<Lifecycle>>,
}

impl Lifecycle {
    pub fn new(status: EntityStatus, parent: Option<Arc<Lifecycle>>) -> Arc<Self> {
        Arc::new(Self {
            status: AtomicU8::new(status.code()),
            born: Instant::now(),
            last_active: AtomicU64::new(0),
            parent,
        })
    }

    pub fn status(&self) -> EntityStatus {
        EntityStatus::from_code(self.status.load(Ordering::Acquire)).unwrap_or_default()
    }

    pub fn set_status(&self, status: EntityStatus) {
        self.status.store(status.code(), Ordering::Release);
    }

    /// Refuses `op` if this entity's status (or its topic's) disables it.
    pub fn check(&self, op: Operation, path: &str) -> Result<(), EntityError> {
        let mut at = Some(self);
        while let Some(l) = at {
            let status = l.status();
            let allowed = match op {
                Operation::Send => status.can_send(),
                Operation::Receive => status.can_receive(),
            };
            if !allowed {
                return Err(EntityError::Disabled {
                    path: path.to_owned(),
                    status,
                });
            }
            at = l.parent.as_deref();
        }
        Ok(())
    }

    /// Records activity now (on the topic too, for a subscription).
    pub fn touch(&self) {
        let now = Instant::now();
        let mut at = Some(self);
        while let Some(l) = at {
            let since = now.saturating_duration_since(l.born).as_nanos();
            l.last_active
                .fetch_max(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
            at = l.parent.as_deref();
        }
    }

    /// When the entity was last active.
    pub fn last_active(&self) -> Instant {
        self.born + Duration::from_nanos(self.last_active.load(Ordering::Relaxed))
    }
}
