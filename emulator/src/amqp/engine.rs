//! The protocol state of one connection and how incoming frames change it. Actions of
//! the upper layer are in `actions.rs`, frame output in `output.rs`.

use std::{collections::VecDeque, sync::Arc};

use bytes::BytesMut;
use fe2o3_amqp_types::performatives::{Attach, Begin, Close, End, Open};

use super::{
    config::ConnectionConfig,
    decode::{decode_performative, Performative},
    delivery::{DeliveryUpdate, IncomingDelivery, PendingDisposition},
    frame::{ProtocolError, RawFrame, FRAME_TYPE_AMQP},
    handler::{ConnectionWaker, PeerInfo},
    link::{Link, LinkId, LinkInfo, LinkState},
    outcome::ErrorInfo,
    session::{session_at, Session},
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
    /// A session stopped writing transfers at the output high-water mark.
    pub(crate) output_held: bool,
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
            output_held: false,
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

    /// Bytes held in unfinished incoming deliveries (`more` transfers) of all links.
    pub(crate) fn partial_bytes(&self) -> usize {
        self.links
            .iter()
            .filter_map(|s| s.link.as_ref()?.partial.as_ref())
            .map(|p| p.buf.len())
            .sum()
    }

    /// Links that hold a slot now (attached, pending, or waiting for the client's detach).
    pub(crate) fn live_links(&self) -> usize {
        self.links.len() - self.free_links.len()
    }

    pub(crate) fn insert_link(&mut self, info: LinkInfo) -> LinkId {
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
                session.retired_handles.insert(handle);
            }
            session.outgoing_unsettled.retain(|_, u| u.link != id);
            session.incoming_unsettled.retain(|_, u| u.link != id);
        }
        self.purge_outbox(channel, id);
        self.feed_starved(channel);
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

    /// The session on `channel`; a frame on a channel without session is an error.
    pub(crate) fn live_session(&mut self, channel: u16) -> Result<&mut Session, ProtocolError> {
        self.session_mut(channel).ok_or_else(|| {
            ProtocolError::not_allowed(format!("frame on channel {channel}, which has no session"))
        })
    }

    pub(crate) fn link_for_handle(
        &mut self,
        channel: u16,
        handle: u32,
    ) -> Result<Option<LinkId>, ProtocolError> {
        let session = self.live_session(channel)?;
        match session.handles.get(&handle) {
            Some(id) => Ok(Some(*id)),
            // Frames racing with a detach (e.g. a flow sent before the client saw our
            // detach) are ignored; handles that were never attached are an error.
            None if session.retired_handles.contains(&handle) => Ok(None),
            None => Err(ProtocolError::not_allowed(format!(
                "handle {handle} on channel {channel} is not attached"
            ))),
        }
    }

    fn on_end(&mut self, channel: u16, end: End) -> Result<(), ProtocolError> {
        let Some(session) = self.session_mut(channel) else {
            return Err(ProtocolError::not_allowed(format!(
                "end on channel {channel}, which has no session"
            )));
        };
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
        self.write(channel, &End { error: None });
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
