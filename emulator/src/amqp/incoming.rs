//! Link-level frames from the client: attach, flow, transfer, disposition, detach.

use bytes::{Bytes, BytesMut};
use fe2o3_amqp_types::{
    definitions::Role,
    performatives::{Attach, Detach, Disposition, Flow, Transfer},
};

use super::{
    delivery::{DeliveryTag, DeliveryUpdate, IncomingDelivery, PartialDelivery},
    engine::{Engine, Event},
    frame::ProtocolError,
    link::{EarlyFlow, LinkId, LinkInfo, LinkRole, LinkState},
    outcome::{ErrorInfo, Outcome},
    session::IncomingUnsettled,
};

impl Engine {
    pub(crate) fn on_attach(&mut self, channel: u16, attach: Attach) -> Result<(), ProtocolError> {
        let handle = attach.handle.0;
        let session = self.live_session(channel)?;
        if handle > session.handle_max {
            return Err(ProtocolError::not_allowed(format!(
                "handle {handle} exceeds handle-max {}",
                session.handle_max
            )));
        }
        if session.handles.contains_key(&handle) {
            return Err(ProtocolError::not_allowed(format!(
                "handle {handle} on channel {channel} is already attached"
            )));
        }
        let over_limit = self.live_links() >= self.config.max_links;
        let copy = Box::new(attach.clone());
        let id = self.insert_link(LinkInfo::from_attach(attach, channel));
        if let Some(session) = self.session_mut(channel) {
            session.handles.insert(handle, id);
            session.retired_handles.remove(&handle);
        }
        if over_limit {
            let max = self.config.max_links;
            tracing::warn!(
                max_links = max,
                "attach refused: the connection has its maximum number of links"
            );
            let text = format!(
                "The connection has {max} links attached, the most the broker allows on one \
                 connection; detach a link or open another connection."
            );
            let error = ErrorInfo::new("amqp:resource-limit-exceeded", text);
            let _ = self.refuse_attach(id, error);
            return Ok(());
        }
        self.events.push_back(Event::Attach(id, copy));
        Ok(())
    }

    pub(crate) fn on_flow(&mut self, channel: u16, flow: Flow) -> Result<(), ProtocolError> {
        let session = self.live_session(channel)?;
        session.apply_flow(&flow);
        let Some(handle) = flow.handle else {
            if flow.echo {
                self.mark_session_flow(channel);
            }
            self.pump_outbox(channel);
            return Ok(());
        };
        let Some(id) = self.link_for_handle(channel, handle.0)? else {
            return Ok(());
        };
        let mut notify = false;
        let mut echo = false;
        if let Some(link) = self.link_mut(id) {
            match (link.state, link.info.role) {
                (LinkState::Pending, _) => {
                    link.early_flow = Some(EarlyFlow {
                        delivery_count: flow.delivery_count,
                        link_credit: flow.link_credit.unwrap_or(0),
                        drain: flow.drain,
                        echo: flow.echo,
                    });
                }
                (LinkState::DetachSent, _) => {}
                (LinkState::Attached, LinkRole::Sender) => {
                    let fallback = link.delivery_count;
                    notify = link.apply_receiver_flow(
                        flow.delivery_count,
                        flow.link_credit.unwrap_or(0),
                        flow.drain,
                        fallback,
                    );
                    echo = flow.echo;
                }
                (LinkState::Attached, LinkRole::Receiver) => {
                    link.apply_sender_flow(flow.delivery_count);
                    echo = flow.echo;
                }
            }
        }
        if echo {
            self.mark_link_flow(id);
        }
        if notify {
            self.events.push_back(Event::Flow(id));
        }
        self.pump_outbox(channel);
        Ok(())
    }

    pub(crate) fn on_transfer(
        &mut self,
        channel: u16,
        transfer: Transfer,
        payload: Bytes,
    ) -> Result<(), ProtocolError> {
        let window = self.config.session_window;
        let max_size = self.config.max_message_size;
        let session = self.live_session(channel)?;
        if session.on_incoming_transfer_frame(window) {
            self.mark_session_flow(channel);
        }
        let Some(id) = self.link_for_handle(channel, transfer.handle.0)? else {
            return Ok(());
        };
        let Some(link) = self.link_mut(id) else {
            return Ok(());
        };
        if link.info.role != LinkRole::Receiver {
            return Err(ProtocolError::not_allowed(format!(
                "transfer on handle {} where the client is the receiver",
                transfer.handle.0
            )));
        }
        if link.state == LinkState::DetachSent {
            return Ok(());
        }
        if transfer.aborted {
            link.partial = None;
            return Ok(());
        }
        let limit = link.max_message_size.min(max_size);
        let mut partial = match link.partial.take() {
            Some(p) => p,
            None if link.credit == 0 => {
                // Without credit the client may not start a delivery; honouring that keeps
                // what one link can queue (before and after its attach is answered) bounded.
                let text = "The peer sent a transfer without link credit; wait for a flow that grants credit.";
                let error = ErrorInfo::new("amqp:link:transfer-limit-exceeded", text);
                self.detach_for_limit(id, error);
                return Ok(());
            }
            None => {
                let delivery_id = transfer.delivery_id.ok_or_else(|| {
                    ProtocolError::decode("first transfer of a delivery without delivery-id")
                })?;
                let raw_tag = transfer.delivery_tag.as_ref().ok_or_else(|| {
                    ProtocolError::decode("first transfer of a delivery without delivery-tag")
                })?;
                let tag = DeliveryTag::new(raw_tag)
                    .ok_or_else(|| ProtocolError::decode("delivery-tag longer than 32 bytes"))?;
                if !transfer.more && payload.len() as u64 <= limit {
                    let delivery = IncomingDelivery {
                        delivery_id,
                        tag,
                        payload: Bytes::copy_from_slice(&payload),
                        message_format: transfer.message_format.unwrap_or(0),
                        settled: transfer.settled.unwrap_or(false),
                    };
                    return self.complete_delivery(id, delivery);
                }
                PartialDelivery {
                    delivery_id,
                    tag,
                    message_format: transfer.message_format.unwrap_or(0),
                    settled: false,
                    buf: BytesMut::new(),
                }
            }
        };
        partial.settled |= transfer.settled.unwrap_or(false);
        let size = (partial.buf.len() + payload.len()) as u64;
        if size > limit {
            let text = format!(
                "The received message (delivery-id:{}, size:{size} bytes) exceeds the limit \
                 ({limit} bytes) currently allowed on the link.",
                partial.delivery_id
            );
            let error = ErrorInfo::new("amqp:link:message-size-exceeded", text);
            self.detach_for_limit(id, error);
            return Ok(());
        }
        if transfer.more {
            // Unfinished deliveries of all links together stay bounded, however many links.
            let held = self.partial_bytes() + partial.buf.len() + payload.len();
            let max = self.config.max_partial_bytes;
            if held > max {
                let text = format!(
                    "The connection holds more than {max} bytes of unfinished deliveries; \
                     finish a delivery before starting another."
                );
                let error = ErrorInfo::new("amqp:resource-limit-exceeded", text);
                self.detach_for_limit(id, error);
                return Ok(());
            }
            partial.buf.extend_from_slice(&payload);
            if let Some(link) = self.link_mut(id) {
                link.partial = Some(partial);
            }
            return Ok(());
        }
        partial.buf.extend_from_slice(&payload);
        self.complete_delivery(id, partial.finish())
    }

    /// Detaches a link the client broke a limit on; the handler hears `on_detach` with the
    /// error (the client's answering detach is then only acknowledged).
    fn detach_for_limit(&mut self, id: LinkId, error: ErrorInfo) {
        tracing::debug!(%id, condition = %error.condition, "detaching a link over a limit");
        if self.detach(id, Some(error.clone())).is_ok() {
            self.events.push_back(Event::Detach(id, true, Some(error)));
        }
    }

    fn complete_delivery(
        &mut self,
        id: LinkId,
        delivery: IncomingDelivery,
    ) -> Result<(), ProtocolError> {
        let Some(link) = self.link_mut(id) else {
            return Ok(());
        };
        let needs_flow = link.consume_incoming_credit();
        let (channel, pending) = (link.info.channel, link.state == LinkState::Pending);
        if !delivery.settled {
            if let Some(session) = self.session_mut(channel) {
                let entry = IncomingUnsettled {
                    link: id,
                    awaiting_settle: false,
                };
                session
                    .incoming_unsettled
                    .insert(delivery.delivery_id, entry);
            }
        }
        if needs_flow {
            self.mark_link_flow(id);
        }
        if pending {
            if let Some(link) = self.link_mut(id) {
                link.backlog.push(delivery);
            }
        } else {
            self.events.push_back(Event::Transfer(id, delivery));
        }
        Ok(())
    }

    pub(crate) fn on_disposition(
        &mut self,
        channel: u16,
        d: Disposition,
    ) -> Result<(), ProtocolError> {
        let session = self.live_session(channel)?;
        let last = d.last.unwrap_or(d.first);
        if d.role == Role::Sender {
            // The client settles deliveries it sent us (rcv-settle-mode second, or early).
            if d.settled {
                for id in session.incoming_in_range(d.first, last) {
                    session.incoming_unsettled.remove(&id);
                }
            }
            return Ok(());
        }
        let outcome = d.state.and_then(Outcome::from_wire);
        let ids = session.outgoing_in_range(d.first, last);
        let mut updates = Vec::with_capacity(ids.len());
        for delivery_id in ids {
            let entry = if d.settled {
                session.outgoing_unsettled.remove(&delivery_id)
            } else {
                session.outgoing_unsettled.get(&delivery_id).copied()
            };
            if let Some(entry) = entry {
                let update = DeliveryUpdate {
                    delivery_id,
                    tag: entry.tag,
                    outcome: outcome.clone(),
                    settled: d.settled,
                };
                updates.push(Event::Disposition(entry.link, update));
            }
        }
        self.events.extend(updates);
        if d.settled {
            self.feed_starved(channel);
        }
        Ok(())
    }

    pub(crate) fn on_detach(&mut self, channel: u16, detach: Detach) -> Result<(), ProtocolError> {
        let Some(id) = self.link_for_handle(channel, detach.handle.0)? else {
            return Ok(());
        };
        let Some(state) = self.link(id).map(|l| l.state) else {
            return Ok(());
        };
        let error = detach.error.map(ErrorInfo::from_wire);
        match state {
            LinkState::DetachSent => {}
            LinkState::Pending | LinkState::Attached => {
                if state == LinkState::Pending {
                    self.write_echo_attach(id);
                }
                self.flush_dispositions();
                let reply = Detach {
                    handle: detach.handle,
                    closed: detach.closed,
                    error: None,
                };
                self.write(channel, &reply);
                self.events
                    .push_back(Event::Detach(id, detach.closed, error));
            }
        }
        self.remove_link(id);
        Ok(())
    }
}
