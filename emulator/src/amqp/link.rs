//! Links: identity, what the upper layer sees of them, how it answers an attach, and the
//! per-link credit bookkeeping.

use fe2o3_amqp_types::{
    definitions::{Fields, ReceiverSettleMode, Role, SenderSettleMode},
    messaging::{Source, TargetArchetype},
    performatives::Attach,
};
use serde_amqp::primitives::{Array, Symbol};

use super::delivery::{IncomingDelivery, PartialDelivery};

/// Identifies a link for the lifetime of its connection (never reused on that connection).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId {
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "link#{}.{}", self.index, self.generation)
    }
}

/// Our side of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRole {
    /// The broker sends on this link (the client attached a receiver).
    Sender,
    /// The broker receives on this link (the client attached a sender).
    Receiver,
}

/// What the engine knows about a link, for the upper layer to inspect.
#[derive(Clone, Debug)]
pub struct LinkInfo {
    /// Link name chosen by the client.
    pub name: String,
    /// Our role on the link.
    pub role: LinkRole,
    /// The session's channel (the client's outgoing channel number).
    pub channel: u16,
    /// The client's handle for the link (we use the same number for ours).
    pub handle: u32,
    /// `source.address` of the client's attach.
    pub source_address: Option<String>,
    /// `target.address` of the client's attach.
    pub target_address: Option<String>,
    /// Sender settle mode: the client's proposal, then what we answered.
    pub snd_settle_mode: SenderSettleMode,
    /// Receiver settle mode: the client's proposal, then what we answered.
    pub rcv_settle_mode: ReceiverSettleMode,
    /// The client's `max-message-size` (`None` or 0 = unlimited).
    pub peer_max_message_size: Option<u64>,
    /// The client's attach exactly as decoded.
    pub attach: Attach,
}

impl LinkInfo {
    pub(crate) fn from_attach(attach: Attach, channel: u16) -> Self {
        let role = match attach.role {
            Role::Sender => LinkRole::Receiver,
            Role::Receiver => LinkRole::Sender,
        };
        let target_address = match attach.target.as_deref() {
            Some(TargetArchetype::Target(t)) => t.address.clone(),
            #[allow(unreachable_patterns)]
            _ => None,
        };
        Self {
            name: attach.name.clone(),
            role,
            channel,
            handle: attach.handle.0,
            source_address: attach.source.as_ref().and_then(|s| s.address.clone()),
            target_address,
            snd_settle_mode: attach.snd_settle_mode.clone(),
            rcv_settle_mode: attach.rcv_settle_mode.clone(),
            peer_max_message_size: attach.max_message_size,
            attach,
        }
    }

    /// The client's link properties (`attach.properties`).
    pub fn properties(&self) -> Option<&Fields> {
        self.attach.properties.as_ref()
    }
}

/// How the upper layer answers an attach. Start from [`AttachReply::echo`] and adjust.
#[derive(Clone, Debug)]
pub struct AttachReply {
    /// Source sent back (`None` = null source; avoid it, Python treats it as invalid).
    pub source: Option<Box<Source>>,
    /// Target sent back.
    pub target: Option<Box<TargetArchetype>>,
    /// Our sender settle mode (meaningful when we are the sender).
    pub snd_settle_mode: SenderSettleMode,
    /// Our receiver settle mode (meaningful when we are the receiver).
    pub rcv_settle_mode: ReceiverSettleMode,
    /// `max-message-size` we accept / send (`None` = unlimited). Incoming messages above
    /// it detach the link with `amqp:link:message-size-exceeded`.
    pub max_message_size: Option<u64>,
    /// `initial-delivery-count` when we are the sender.
    pub initial_delivery_count: u32,
    /// Link properties (symbol keys).
    pub properties: Option<Fields>,
    /// `offered-capabilities`.
    pub offered_capabilities: Option<Array<Symbol>>,
    /// `desired-capabilities`.
    pub desired_capabilities: Option<Array<Symbol>>,
    /// When we are the receiver: credit granted right after the attach and re-granted
    /// whenever the client has used half of it (0 = grant by hand with
    /// [`Context::add_credit`](super::Context::add_credit)).
    pub credit_window: u32,
}

impl AttachReply {
    /// Echoes the client's source, target and settle modes; no properties, unlimited
    /// message size, initial delivery count 0, credit window 0.
    pub fn echo(attach: &Attach) -> Self {
        Self {
            source: attach.source.clone(),
            target: attach.target.clone(),
            snd_settle_mode: attach.snd_settle_mode.clone(),
            rcv_settle_mode: attach.rcv_settle_mode.clone(),
            max_message_size: None,
            initial_delivery_count: 0,
            properties: None,
            offered_capabilities: None,
            desired_capabilities: None,
            credit_window: 0,
        }
    }
}

/// The client's flow state on a link where we are the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkFlow {
    /// Credit available now (deliveries we may send).
    pub credit: u32,
    /// The client asked us to drain: send what we have, then call
    /// [`Context::finish_drain`](super::Context::finish_drain).
    pub drain: bool,
}

/// Link endpoint state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LinkState {
    /// The client attached; the upper layer has not answered yet.
    Pending,
    /// Both attaches exchanged.
    Attached,
    /// We sent detach and wait for the client's.
    DetachSent,
}

/// A flow received while the link was pending (applied once we answer the attach).
#[derive(Clone, Copy, Debug)]
pub(crate) struct EarlyFlow {
    pub delivery_count: Option<u32>,
    pub link_credit: u32,
    pub drain: bool,
    pub echo: bool,
}

/// Per-link protocol state.
#[derive(Debug)]
pub(crate) struct Link {
    pub id: LinkId,
    pub info: LinkInfo,
    pub state: LinkState,
    /// Delivery count (ours as sender; the client's as we last know it as receiver).
    pub delivery_count: u32,
    /// Link credit (granted to us as sender / granted by us as receiver).
    pub credit: u32,
    /// The client's drain flag (sender role).
    pub drain: bool,
    pub early_flow: Option<EarlyFlow>,
    /// Receiver role: auto top-up window.
    pub credit_window: u32,
    /// Receiver role: largest message we accept.
    pub max_message_size: u64,
    pub partial: Option<PartialDelivery>,
    /// Receiver role: transfers that arrived before the attach was answered.
    pub backlog: Vec<IncomingDelivery>,
    /// A flow frame for this link must go out with the next flush.
    pub needs_flow: bool,
}

impl Link {
    pub(crate) fn new(id: LinkId, info: LinkInfo) -> Self {
        Self {
            id,
            info,
            state: LinkState::Pending,
            delivery_count: 0,
            credit: 0,
            drain: false,
            early_flow: None,
            credit_window: 0,
            max_message_size: u64::MAX,
            partial: None,
            backlog: Vec::new(),
            needs_flow: false,
        }
    }

    /// Applies a flow from the client on a link where we send. Returns `true` if the
    /// credit grew or a drain was requested (the upper layer should hear about it).
    pub(crate) fn apply_receiver_flow(
        &mut self,
        delivery_count: Option<u32>,
        link_credit: u32,
        drain: bool,
        initial: u32,
    ) -> bool {
        let before = self.credit;
        let their_count = delivery_count.unwrap_or(initial);
        // credit = their delivery-count + their link-credit - our delivery-count (serial).
        let limit = their_count.wrapping_add(link_credit);
        let diff = limit.wrapping_sub(self.delivery_count);
        self.credit = if diff > i32::MAX as u32 { 0 } else { diff };
        self.drain = drain;
        self.credit > before || drain
    }

    /// Applies a flow from the client on a link where we receive (their delivery count).
    pub(crate) fn apply_sender_flow(&mut self, delivery_count: Option<u32>) {
        if let Some(dc) = delivery_count {
            let limit = self.delivery_count.wrapping_add(self.credit);
            let diff = limit.wrapping_sub(dc);
            self.credit = if diff > i32::MAX as u32 { 0 } else { diff };
            self.delivery_count = dc;
        }
    }

    /// Receiver role: one delivery arrived; re-arms the credit window if half is used.
    /// Returns `true` if the new credit must be announced with a flow.
    pub(crate) fn consume_incoming_credit(&mut self) -> bool {
        self.delivery_count = self.delivery_count.wrapping_add(1);
        self.credit = self.credit.saturating_sub(1);
        if self.credit_window > 0 && self.credit <= self.credit_window / 2 {
            self.credit = self.credit_window;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Link {
        let attach = Attach {
            name: "l".into(),
            handle: 0.into(),
            role: Role::Receiver,
            snd_settle_mode: SenderSettleMode::Unsettled,
            rcv_settle_mode: ReceiverSettleMode::Second,
            source: None,
            target: None,
            unsettled: None,
            incomplete_unsettled: false,
            initial_delivery_count: None,
            max_message_size: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        Link::new(
            LinkId {
                index: 0,
                generation: 0,
            },
            LinkInfo::from_attach(attach, 0),
        )
    }

    #[test]
    fn receiver_flow_credit_follows_the_spec_formula() {
        let mut l = link();
        l.delivery_count = 10;
        assert!(l.apply_receiver_flow(Some(8), 5, false, 0));
        assert_eq!(l.credit, 3);
        // A stale flow (their count + credit below ours) gives no credit, never underflows.
        assert!(!l.apply_receiver_flow(Some(2), 1, false, 0));
        assert_eq!(l.credit, 0);
        // Wrap-around of the serial numbers.
        l.delivery_count = u32::MAX;
        assert!(l.apply_receiver_flow(Some(u32::MAX - 1), 4, false, 0));
        assert_eq!(l.credit, 3);
    }

    #[test]
    fn credit_window_rearms_at_half() {
        let mut l = link();
        l.credit_window = 4;
        l.credit = 4;
        assert!(!l.consume_incoming_credit());
        assert!(l.consume_incoming_credit());
        assert_eq!(l.credit, 4);
        assert_eq!(l.delivery_count, 2);
    }
}
