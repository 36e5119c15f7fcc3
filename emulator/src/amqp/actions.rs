//! What the upper layer can do through the [`Context`](super::Context): answer attaches,
//! grant credit, send, settle, drain, detach, close.

use bytes::Bytes;
use fe2o3_amqp_types::{
    definitions::{ReceiverSettleMode, Role},
    performatives::{Attach, Close, Detach},
};

use super::{
    delivery::{DeliveryTag, PendingDisposition},
    engine::{Engine, Event, Phase},
    handler::ActionError,
    link::{AttachReply, LinkId, LinkRole, LinkState},
    outcome::{ErrorInfo, Outcome},
    session::{QueuedTransfer, Unsettled},
};

impl Engine {
    fn pending_link(&mut self, id: LinkId) -> Result<(), ActionError> {
        if self.phase != Phase::Opened {
            return Err(ActionError::Closing);
        }
        match self.link(id).map(|l| l.state) {
            None => Err(ActionError::UnknownLink),
            Some(LinkState::Pending) => Ok(()),
            Some(_) => Err(ActionError::AlreadyAnswered),
        }
    }

    fn attached_link(&self, id: LinkId, role: LinkRole) -> Result<(), ActionError> {
        if self.phase != Phase::Opened {
            return Err(ActionError::Closing);
        }
        let link = self.link(id).ok_or(ActionError::UnknownLink)?;
        if link.info.role != role {
            return Err(ActionError::WrongRole);
        }
        if link.state != LinkState::Attached {
            return Err(ActionError::NotAttached);
        }
        Ok(())
    }

    /// Builds and writes our attach for a pending link.
    fn write_attach(&mut self, id: LinkId, reply: &AttachReply) {
        let Some(link) = self.link(id) else { return };
        let sender = link.info.role == LinkRole::Sender;
        let attach = Attach {
            name: link.info.name.clone(),
            handle: link.info.handle.into(),
            role: if sender { Role::Sender } else { Role::Receiver },
            snd_settle_mode: reply.snd_settle_mode.clone(),
            rcv_settle_mode: reply.rcv_settle_mode.clone(),
            source: reply.source.clone(),
            target: reply.target.clone(),
            unsettled: None,
            incomplete_unsettled: false,
            initial_delivery_count: sender.then_some(reply.initial_delivery_count),
            max_message_size: reply.max_message_size,
            offered_capabilities: reply.offered_capabilities.clone(),
            desired_capabilities: reply.desired_capabilities.clone(),
            properties: reply.properties.clone(),
        };
        let channel = link.info.channel;
        self.write(channel, &attach);
    }

    /// Writes an attach that echoes the client's source and target (used when refusing).
    pub(crate) fn write_echo_attach(&mut self, id: LinkId) {
        if let Some(link) = self.link(id) {
            let reply = AttachReply::echo(&link.info.attach);
            self.write_attach(id, &reply);
        }
    }

    pub(crate) fn accept_attach(
        &mut self,
        id: LinkId,
        reply: AttachReply,
    ) -> Result<(), ActionError> {
        self.pending_link(id)?;
        self.write_attach(id, &reply);
        let max_size = self.config.max_message_size;
        let Some(link) = self.link_mut(id) else {
            return Err(ActionError::UnknownLink);
        };
        link.state = LinkState::Attached;
        link.info.snd_settle_mode = reply.snd_settle_mode;
        link.info.rcv_settle_mode = reply.rcv_settle_mode;
        let mut notify = false;
        let mut flow_needed = false;
        match link.info.role {
            LinkRole::Sender => {
                link.delivery_count = reply.initial_delivery_count;
                if let Some(early) = link.early_flow.take() {
                    let initial = reply.initial_delivery_count;
                    link.apply_receiver_flow(
                        early.delivery_count,
                        early.link_credit,
                        early.drain,
                        initial,
                    );
                    notify = link.credit > 0 || link.drain;
                    flow_needed = early.echo;
                }
            }
            LinkRole::Receiver => {
                link.max_message_size = reply
                    .max_message_size
                    .filter(|m| *m > 0)
                    .unwrap_or(u64::MAX)
                    .min(max_size);
                link.credit_window = link.credit_window.max(reply.credit_window);
                if link.credit_window > link.credit {
                    link.credit = link.credit_window;
                    flow_needed = true;
                }
                for delivery in std::mem::take(&mut link.backlog) {
                    self.events.push_back(Event::Transfer(id, delivery));
                }
            }
        }
        if flow_needed {
            self.mark_link_flow(id);
        }
        if notify {
            self.events.push_back(Event::Flow(id));
        }
        Ok(())
    }

    pub(crate) fn refuse_attach(
        &mut self,
        id: LinkId,
        error: ErrorInfo,
    ) -> Result<(), ActionError> {
        self.pending_link(id)?;
        self.write_echo_attach(id);
        self.write_detach(id, Some(error));
        Ok(())
    }

    pub(crate) fn detach(
        &mut self,
        id: LinkId,
        error: Option<ErrorInfo>,
    ) -> Result<(), ActionError> {
        if self.phase != Phase::Opened {
            return Err(ActionError::Closing);
        }
        match self.link(id).map(|l| l.state) {
            None => Err(ActionError::UnknownLink),
            Some(LinkState::DetachSent) => Err(ActionError::NotAttached),
            Some(LinkState::Pending) => {
                let error = error
                    .unwrap_or_else(|| ErrorInfo::new("amqp:not-allowed", "the link was refused"));
                self.refuse_attach(id, error)
            }
            Some(LinkState::Attached) => {
                self.flush_dispositions();
                self.write_detach(id, error);
                Ok(())
            }
        }
    }

    /// Writes `detach(closed=true)` and waits for the client's detach.
    fn write_detach(&mut self, id: LinkId, error: Option<ErrorInfo>) {
        let Some(link) = self.link_mut(id) else {
            return;
        };
        link.state = LinkState::DetachSent;
        link.partial = None;
        link.backlog.clear();
        let (channel, handle) = (link.info.channel, link.info.handle);
        let detach = Detach {
            handle: handle.into(),
            closed: true,
            error: error.as_ref().map(ErrorInfo::to_wire),
        };
        self.purge_outbox(channel, id);
        self.write(channel, &detach);
    }

    pub(crate) fn set_credit_window(&mut self, id: LinkId, window: u32) -> Result<(), ActionError> {
        let link = self.link_mut(id).ok_or(ActionError::UnknownLink)?;
        if link.info.role != LinkRole::Receiver {
            return Err(ActionError::WrongRole);
        }
        link.credit_window = window;
        if link.state == LinkState::Attached && window > 0 && link.credit <= window / 2 {
            link.credit = window;
            self.mark_link_flow(id);
        }
        Ok(())
    }

    pub(crate) fn add_credit(&mut self, id: LinkId, credit: u32) -> Result<(), ActionError> {
        self.attached_link(id, LinkRole::Receiver)?;
        if let Some(link) = self.link_mut(id) {
            link.credit = link.credit.saturating_add(credit);
        }
        self.mark_link_flow(id);
        Ok(())
    }

    pub(crate) fn send(
        &mut self,
        id: LinkId,
        tag: &[u8],
        payload: Bytes,
        message_format: u32,
        settled: bool,
    ) -> Result<u32, ActionError> {
        self.attached_link(id, LinkRole::Sender)?;
        let tag = DeliveryTag::new(tag).ok_or(ActionError::TagTooLong)?;
        let link = self.link_mut(id).ok_or(ActionError::UnknownLink)?;
        if link.credit == 0 {
            return Err(ActionError::NoCredit);
        }
        link.credit -= 1;
        link.delivery_count = link.delivery_count.wrapping_add(1);
        let (channel, handle) = (link.info.channel, link.info.handle);
        let session = self.session_mut(channel).ok_or(ActionError::UnknownLink)?;
        let delivery_id = session.next_delivery_id;
        session.next_delivery_id = delivery_id.wrapping_add(1);
        if !settled {
            session
                .outgoing_unsettled
                .insert(delivery_id, Unsettled { link: id, tag });
        }
        session.outbox.push_back(QueuedTransfer {
            link: id,
            handle,
            delivery_id,
            tag,
            message_format,
            settled,
            payload,
            started: false,
        });
        self.pump_outbox(channel);
        Ok(delivery_id)
    }

    pub(crate) fn settle_incoming(
        &mut self,
        id: LinkId,
        delivery_id: u32,
        outcome: Outcome,
    ) -> Result<(), ActionError> {
        let link = self.link(id).ok_or(ActionError::UnknownLink)?;
        if link.info.role != LinkRole::Receiver {
            return Err(ActionError::WrongRole);
        }
        let settled = link.info.rcv_settle_mode == ReceiverSettleMode::First;
        let channel = link.info.channel;
        let session = self.session_mut(channel).ok_or(ActionError::UnknownLink)?;
        match session.incoming_unsettled.get_mut(&delivery_id) {
            Some(entry) if entry.link == id && !entry.awaiting_settle => {
                if settled {
                    session.incoming_unsettled.remove(&delivery_id);
                } else {
                    entry.awaiting_settle = true;
                }
            }
            _ => return Err(ActionError::UnknownDelivery),
        }
        self.pending_dispositions.push(PendingDisposition {
            channel,
            as_receiver: true,
            delivery_id,
            settled,
            outcome,
        });
        Ok(())
    }

    pub(crate) fn echo_settled(
        &mut self,
        id: LinkId,
        delivery_id: u32,
        outcome: Outcome,
    ) -> Result<(), ActionError> {
        let channel = self.link(id).ok_or(ActionError::UnknownLink)?.info.channel;
        let session = self.session_mut(channel).ok_or(ActionError::UnknownLink)?;
        match session.outgoing_unsettled.get(&delivery_id) {
            Some(entry) if entry.link == id => {
                session.outgoing_unsettled.remove(&delivery_id);
            }
            _ => return Err(ActionError::UnknownDelivery),
        }
        self.pending_dispositions.push(PendingDisposition {
            channel,
            as_receiver: false,
            delivery_id,
            settled: true,
            outcome,
        });
        self.feed_starved(channel);
        Ok(())
    }

    pub(crate) fn unsettled_outgoing(&self, id: LinkId) -> usize {
        let Some(link) = self.link(id) else { return 0 };
        self.sessions
            .get(usize::from(link.info.channel))
            .and_then(Option::as_ref)
            .map_or(0, |s| {
                s.outgoing_unsettled
                    .values()
                    .filter(|u| u.link == id)
                    .count()
            })
    }

    pub(crate) fn finish_drain(&mut self, id: LinkId) -> Result<(), ActionError> {
        self.attached_link(id, LinkRole::Sender)?;
        let link = self.link_mut(id).ok_or(ActionError::UnknownLink)?;
        link.delivery_count = link.delivery_count.wrapping_add(link.credit);
        link.credit = 0;
        link.drain = true;
        self.write_link_flow(id);
        Ok(())
    }

    /// Starts closing the connection: every link is dropped (the handler hears
    /// `on_detach` for each), `close` goes out, and we wait for the client's `close`.
    pub(crate) fn close(&mut self, error: Option<ErrorInfo>) {
        if matches!(self.phase, Phase::Closing | Phase::Closed) {
            return;
        }
        if self.phase == Phase::AwaitingOpen {
            // The spec wants an open before the close, even when refusing the client.
            self.write_open();
        }
        self.flush_dispositions();
        self.detach_all(None);
        self.write(
            0,
            &Close {
                error: error.as_ref().map(ErrorInfo::to_wire),
            },
        );
        self.close_error = error;
        self.phase = Phase::Closing;
    }
}
