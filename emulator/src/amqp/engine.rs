//! The protocol state of one connection and how incoming frames change it. Actions of
//! the upper layer are in `actions.rs`, frame output in `output.rs`.

use std::{collections::VecDeque, sync::Arc};

use bytes::{Bytes, BytesMut};
use fe2o3_amqp_types::{
    definitions::Role,
    performatives::{Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Transfer},
};

use super::{
    config::ConnectionConfig,
    decode::{decode_performative, Performative},
    delivery::{
        DeliveryTag, DeliveryUpdate, IncomingDelivery, PartialDelivery, PendingDisposition,
    },
    frame::{ProtocolError, RawFrame, FRAME_TYPE_AMQP},
    handler::{ConnectionWaker, PeerInfo},
    link::{EarlyFlow, Link, LinkId, LinkInfo, LinkRole, LinkState},
    outcome::{ErrorInfo, Outcome},
    session::{session_at, IncomingUnsettled, Session},
};

/// Something the handler must hear about; queued while frames are processed.
#[derive(Debug)]
pub(crate) enum Event {
    Open,
    Attach(LinkId, Box<Attach>),
    Transfer(LinkId, IncomingDelivery),
    Disposition(LinkId, DeliveryUpdate),
    Flow(LinkId),
    Detach(LinkId, bool, Option<ErrorInfo>),
}

/// Connection phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    AwaitingOpen,
    Opened,
    /// We sent `close` and wait for the client's.
    Closing,
    /// Both sides are done; flush and drop the transport.
    Closed,
}

#[derive(Debug, Default)]
struct LinkSlot {
    generation: u32,
    link: Option<Link>,
}

/// All protocol state of one connection (everything but the handler and the I/O).
#[derive(Debug)]
pub(crate) struct Engine {
    pub config: Arc<ConnectionConfig>,
    pub peer: PeerInfo,
    pub waker: ConnectionWaker,
    /// Encoded frames waiting to be written.
    pub out: BytesMut,
    pub events: VecDeque<Event>,
    pub phase: Phase,
    /// The error the connection ended with (ours or the client's).
    pub close_error: Option<ErrorInfo>,
    /// Largest frame the client accepts.
    pub remote_max_frame: usize,
    pub(crate) sessions: Vec<Option<Session>>,
    links: Vec<LinkSlot>,
    free_links: Vec<u32>,
    pub(crate) pending_dispositions: Vec<PendingDisposition>,
    pub(crate) dirty_links: Vec<LinkId>,
    pub(crate) dirty_sessions: Vec<u16>,
    pub(crate) scratch: Vec<u8>,
}

impl Engine {
    pub(crate) fn new(config: Arc<ConnectionConfig>, peer: PeerInfo) -> Self {
        Self {
            config,
            peer,
            waker: ConnectionWaker::default(),
            out: BytesMut::with_capacity(64 * 1024),
            events: VecDeque::new(),
            phase: Phase::AwaitingOpen,
            close_error: None,
            remote_max_frame: 512,
            sessions: Vec::new(),
            links: Vec::new(),
            free_links: Vec::new(),
            pending_dispositions: Vec::new(),
            dirty_links: Vec::new(),
            dirty_sessions: Vec::new(),
            scratch: Vec::with_capacity(64),
        }
    }

    pub(crate) fn link(&self, id: LinkId) -> Option<&Link> {
        let slot = self.links.get(id.index as usize)?;
        slot.link
            .as_ref()
            .filter(|_| slot.generation == id.generation)
    }

    pub(crate) fn link_mut(&mut self, id: LinkId) -> Option<&mut Link> {
        let slot = self.links.get_mut(id.index as usize)?;
        slot.link
            .as_mut()
            .filter(|_| slot.generation == id.generation)
    }

    pub(crate) fn session_mut(&mut self, channel: u16) -> Option<&mut Session> {
        session_at(&mut self.sessions, channel)
    }

    fn insert_link(&mut self, info: LinkInfo) -> LinkId {
        let index = match self.free_links.pop() {
            Some(i) => i,
            None => {
                self.links.push(LinkSlot::default());
                (self.links.len() - 1) as u32
            }
        };
        let slot = &mut self.links[index as usize];
        let id = LinkId {
            index,
            generation: slot.generation,
        };
        slot.link = Some(Link::new(id, info));
        id
    }

    /// Forgets a link: frees its slot and handle and drops its unsettled and queued
    /// deliveries (a partly written delivery is aborted).
    pub(crate) fn remove_link(&mut self, id: LinkId) -> Option<Link> {
        let slot = self.links.get_mut(id.index as usize)?;
        if slot.generation != id.generation {
            return None;
        }
        let link = slot.link.take()?;
        slot.generation = slot.generation.wrapping_add(1);
        self.free_links.push(id.index);
        let channel = link.info.channel;
        let handle = link.info.handle;
        if let Some(session) = self.session_mut(channel) {
            if session.handles.get(&handle) == Some(&id) {
                session.handles.remove(&handle);
            }
            session.outgoing_unsettled.retain(|_, u| u.link != id);
            session.incoming_unsettled.retain(|_, u| u.link != id);
        }
        self.purge_outbox(channel, id);
        Some(link)
    }

    /// Handles one frame from the client.
    pub(crate) fn on_frame(&mut self, frame: RawFrame) -> Result<(), ProtocolError> {
        if frame.frame_type != FRAME_TYPE_AMQP {
            return Err(ProtocolError::framing(format!(
                "unexpected frame type 0x{:02x}",
                frame.frame_type
            )));
        }
        if frame.body.is_empty() {
            return Ok(()); // heartbeat
        }
        let performative = decode_performative(frame.body)?;
        let channel = frame.channel;
        match self.phase {
            Phase::AwaitingOpen => match performative {
                Performative::Open(open) => self.on_open(*open),
                _ => Err(ProtocolError::not_allowed("the first frame must be open")),
            },
            Phase::Closing | Phase::Closed => {
                if let Performative::Close(_) = performative {
                    self.phase = Phase::Closed;
                }
                Ok(())
            }
            Phase::Opened => match performative {
                Performative::Open(_) => Err(ProtocolError::not_allowed("open received twice")),
                Performative::Begin(begin) => self.on_begin(channel, begin),
                Performative::Attach(attach) => self.on_attach(channel, *attach),
                Performative::Flow(flow) => self.on_flow(channel, flow),
                Performative::Transfer(t, payload) => self.on_transfer(channel, t, payload),
                Performative::Disposition(d) => self.on_disposition(channel, d),
                Performative::Detach(detach) => self.on_detach(channel, detach),
                Performative::End(end) => self.on_end(channel, end),
                Performative::Close(close) => {
                    self.on_close(close);
                    Ok(())
                }
            },
        }
    }

    fn on_open(&mut self, open: Open) -> Result<(), ProtocolError> {
        self.peer.apply_open(&open);
        self.remote_max_frame = (open.max_frame_size.0 as usize).max(512);
        self.write_open();
        self.phase = Phase::Opened;
        self.events.push_back(Event::Open);
        Ok(())
    }

    /// Writes our `open`.
    pub(crate) fn write_open(&mut self) {
        let ours = Open {
            container_id: self.config.container_id.clone(),
            hostname: None,
            max_frame_size: self.config.effective_max_frame_size().into(),
            channel_max: self.config.channel_max.into(),
            idle_time_out: self
                .config
                .idle_timeout
                .map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX)),
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        self.write(0, &ours);
    }

    fn on_begin(&mut self, channel: u16, begin: Begin) -> Result<(), ProtocolError> {
        if channel > self.config.channel_max {
            return Err(ProtocolError::not_allowed(format!(
                "channel {channel} exceeds channel-max {}",
                self.config.channel_max
            )));
        }
        if begin.remote_channel.is_some() {
            return Err(ProtocolError::not_allowed(
                "begin with remote-channel, but the broker never begins sessions",
            ));
        }
        let index = usize::from(channel);
        if self.sessions.len() <= index {
            self.sessions.resize_with(index + 1, || None);
        }
        if self.sessions[index].is_some() {
            return Err(ProtocolError::not_allowed(format!(
                "channel {channel} already has a session"
            )));
        }
        let session = Session::new(
            channel,
            &begin,
            self.config.session_window,
            self.config.handle_max,
        );
        let reply = session.begin_reply();
        self.sessions[index] = Some(session);
        self.write(channel, &reply);
        Ok(())
    }

    /// The session on `channel`, `Ok(None)` if it is ending (frames are ignored then).
    fn live_session(&mut self, channel: u16) -> Result<Option<&mut Session>, ProtocolError> {
        match self.session_mut(channel) {
            None => Err(ProtocolError::not_allowed(format!(
                "frame on channel {channel}, which has no session"
            ))),
            Some(s) if s.end_sent => Ok(None),
            Some(s) => Ok(Some(s)),
        }
    }

    fn link_for_handle(
        &mut self,
        channel: u16,
        handle: u32,
    ) -> Result<Option<LinkId>, ProtocolError> {
        let Some(session) = self.live_session(channel)? else {
            return Ok(None);
        };
        match session.handles.get(&handle) {
            Some(id) => Ok(Some(*id)),
            None => Err(ProtocolError::not_allowed(format!(
                "handle {handle} on channel {channel} is not attached"
            ))),
        }
    }

    fn on_attach(&mut self, channel: u16, attach: Attach) -> Result<(), ProtocolError> {
        let handle = attach.handle.0;
        let Some(session) = self.live_session(channel)? else {
            return Ok(());
        };
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
        let copy = Box::new(attach.clone());
        let id = self.insert_link(LinkInfo::from_attach(attach, channel));
        if let Some(session) = self.session_mut(channel) {
            session.handles.insert(handle, id);
        }
        self.events.push_back(Event::Attach(id, copy));
        Ok(())
    }

    fn on_flow(&mut self, channel: u16, flow: Flow) -> Result<(), ProtocolError> {
        let Some(session) = self.live_session(channel)? else {
            return Ok(());
        };
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

    fn on_transfer(
        &mut self,
        channel: u16,
        transfer: Transfer,
        payload: Bytes,
    ) -> Result<(), ProtocolError> {
        let window = self.config.session_window;
        let max_size = self.config.max_message_size;
        let Some(session) = self.live_session(channel)? else {
            return Ok(());
        };
        session.on_incoming_transfer_frame(window);
        if session.needs_flow {
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
        let mut partial = match link.partial.take() {
            Some(p) => p,
            None => {
                let delivery_id = transfer.delivery_id.ok_or_else(|| {
                    ProtocolError::decode("first transfer of a delivery without delivery-id")
                })?;
                let raw_tag = transfer.delivery_tag.as_ref().ok_or_else(|| {
                    ProtocolError::decode("first transfer of a delivery without delivery-tag")
                })?;
                let tag = DeliveryTag::new(raw_tag)
                    .ok_or_else(|| ProtocolError::decode("delivery-tag longer than 32 bytes"))?;
                if !transfer.more {
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
        let limit = link.max_message_size.min(max_size);
        if (partial.buf.len() + payload.len()) as u64 > limit {
            let text = format!("message exceeds the maximum size of {limit} bytes");
            let error = ErrorInfo::new("amqp:link:message-size-exceeded", text);
            let _ = self.detach(id, Some(error));
            return Ok(());
        }
        partial.buf.extend_from_slice(&payload);
        if transfer.more {
            link.partial = Some(partial);
            return Ok(());
        }
        self.complete_delivery(id, partial.finish())
    }

    fn complete_delivery(
        &mut self,
        id: LinkId,
        delivery: IncomingDelivery,
    ) -> Result<(), ProtocolError> {
        let Some(link) = self.link_mut(id) else {
            return Ok(());
        };
        link.consume_incoming_credit();
        let (channel, pending, needs_flow) = (
            link.info.channel,
            link.state == LinkState::Pending,
            link.needs_flow,
        );
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

    fn on_disposition(&mut self, channel: u16, d: Disposition) -> Result<(), ProtocolError> {
        let Some(session) = self.live_session(channel)? else {
            return Ok(());
        };
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
        Ok(())
    }

    fn on_detach(&mut self, channel: u16, detach: Detach) -> Result<(), ProtocolError> {
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

    fn on_end(&mut self, channel: u16, end: End) -> Result<(), ProtocolError> {
        let Some(session) = self.session_mut(channel) else {
            return Err(ProtocolError::not_allowed(format!(
                "end on channel {channel}, which has no session"
            )));
        };
        let end_sent = session.end_sent;
        let links: Vec<LinkId> = session.handles.values().copied().collect();
        let error = end.error.map(ErrorInfo::from_wire);
        self.flush_dispositions();
        for id in links {
            if let Some(link) = self.remove_link(id) {
                if link.state != LinkState::DetachSent {
                    self.events
                        .push_back(Event::Detach(id, false, error.clone()));
                }
            }
        }
        if !end_sent {
            self.write(channel, &End { error: None });
        }
        self.sessions[usize::from(channel)] = None;
        Ok(())
    }

    fn on_close(&mut self, close: Close) {
        self.close_error = close.error.map(ErrorInfo::from_wire);
        self.flush_dispositions();
        self.detach_all(self.close_error.clone());
        self.write(0, &Close { error: None });
        self.phase = Phase::Closed;
    }

    /// Removes every link, telling the handler about each one that was live.
    pub(crate) fn detach_all(&mut self, error: Option<ErrorInfo>) {
        let ids: Vec<LinkId> = self
            .links
            .iter()
            .filter_map(|s| s.link.as_ref().map(|l| l.id))
            .collect();
        for id in ids {
            if let Some(link) = self.remove_link(id) {
                if link.state != LinkState::DetachSent {
                    self.events
                        .push_back(Event::Detach(id, false, error.clone()));
                }
            }
        }
    }

    /// Closes the connection because of a protocol violation.
    pub(crate) fn fail(&mut self, error: &ProtocolError) {
        self.close(Some(ErrorInfo::new(
            error.condition,
            error.description.clone(),
        )));
    }
}
