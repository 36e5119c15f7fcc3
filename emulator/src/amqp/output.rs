//! Writing frames into the engine's outgoing buffer: performatives, transfers split at
//! the client's frame size, coalesced dispositions and credit flows.

use bytes::BufMut;
use fe2o3_amqp_types::{
    definitions::Role,
    performatives::{Disposition, Flow},
};
use serde::Serialize;

use super::{
    delivery::{coalesce, DeliveryTag},
    engine::{Engine, Event, Phase},
    frame::{write_frame, write_transfer_frame, FRAME_TYPE_AMQP, HEADER_LEN},
    link::{LinkId, LinkRole, LinkState},
    session::session_at,
};

/// Encoded output beyond which no more transfer frames are queued for writing (and no more
/// input is read) until the client has taken some: a client that grants credit and window
/// but never reads cannot make the broker copy the whole entity into its output buffer.
pub(crate) const OUTPUT_HIGH_WATER: usize = 4 * 1024 * 1024;

/// Deliveries a session may hold back for the client's window before its sender links
/// read as having no credit.
pub(crate) const MAX_HELD_DELIVERIES: usize = 256;
/// Deliveries a session may have sent and not yet seen settled before its sender links read
/// as having no credit (a client that never settles cannot make the broker track, and lock,
/// without end; Service Bus allows 5000 concurrent receives per entity).
pub(crate) const MAX_UNSETTLED_OUTGOING: usize = 5000;

impl Engine {
    /// Credit the handler may use on `id` now: the link's credit as sender, but 0 while
    /// the output is at its high-water mark, the session holds back
    /// [`MAX_HELD_DELIVERIES`] or has [`MAX_UNSETTLED_OUTGOING`] unsettled (the session is
    /// then flagged, and its links hear a flow once deliveries move or are settled).
    pub(crate) fn usable_credit(&self, id: LinkId) -> u32 {
        let Some(link) = self.link(id) else {
            return 0;
        };
        if link.info.role == LinkRole::Receiver || link.credit == 0 {
            return link.credit;
        }
        let session = self
            .sessions
            .get(usize::from(link.info.channel))
            .and_then(Option::as_ref);
        let Some(session) = session else {
            return 0;
        };
        if self.output_held || session.is_backed_up() {
            session.starved.set(true);
            return 0;
        }
        link.credit
    }

    /// After deliveries moved, were settled or dropped on `channel`: if its links were told
    /// they had no credit and can send again, queues a flow event for each sender link with
    /// credit.
    pub(crate) fn feed_starved(&mut self, channel: u16) {
        if self.phase != Phase::Opened {
            return;
        }
        let Some(session) = session_at(&mut self.sessions, channel) else {
            return;
        };
        if !session.starved.get() || self.output_held || session.is_backed_up() {
            return;
        }
        session.starved.set(false);
        let links: Vec<LinkId> = session.handles.values().copied().collect();
        for id in links {
            let ready = self.link(id).is_some_and(|l| {
                l.info.role == LinkRole::Sender && l.state == LinkState::Attached && l.credit > 0
            });
            if ready {
                self.events.push_back(Event::Flow(id));
            }
        }
    }

    /// Appends one performative frame.
    pub(crate) fn write<T: Serialize + std::fmt::Debug>(&mut self, channel: u16, performative: &T) {
        if let Err(e) = write_frame(&mut self.out, FRAME_TYPE_AMQP, channel, performative) {
            // Our own types always encode; if one ever does not, say so instead of panicking.
            tracing::error!(error = %e, ?performative, "failed to encode a frame");
        }
    }

    /// Schedules a flow for the link with the next flush (once, however often called).
    pub(crate) fn mark_link_flow(&mut self, id: LinkId) {
        if let Some(link) = self.link_mut(id).filter(|l| !l.needs_flow) {
            link.needs_flow = true;
            self.dirty_links.push(id);
        }
    }

    /// Schedules a session-level flow with the next flush.
    pub(crate) fn mark_session_flow(&mut self, channel: u16) {
        if let Some(session) = self.session_mut(channel).filter(|s| !s.needs_flow) {
            session.needs_flow = true;
            self.dirty_sessions.push(channel);
        }
    }

    /// Writes a flow frame for `id` with its current credit state.
    pub(crate) fn write_link_flow(&mut self, id: LinkId) {
        let Some(link) = self.link_mut(id) else {
            return;
        };
        link.needs_flow = false;
        let (channel, handle, delivery_count, credit, drain) = (
            link.info.channel,
            link.info.handle,
            link.delivery_count,
            link.credit,
            link.drain,
        );
        let Some(session) = self.session_mut(channel) else {
            return;
        };
        session.needs_flow = false;
        let flow = Flow {
            handle: Some(handle.into()),
            delivery_count: Some(delivery_count),
            link_credit: Some(credit),
            drain,
            ..session.flow()
        };
        self.write(channel, &flow);
    }

    /// Writes all coalesced dispositions.
    pub(crate) fn flush_dispositions(&mut self) {
        if self.pending_dispositions.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.pending_dispositions);
        let frames: Vec<(u16, Disposition)> = coalesce(&mut pending)
            .into_iter()
            .map(|(channel, as_receiver, first, last, settled, outcome)| {
                let disposition = Disposition {
                    role: if as_receiver {
                        Role::Receiver
                    } else {
                        Role::Sender
                    },
                    first,
                    last: (last != first).then_some(last),
                    settled,
                    state: Some(outcome.to_wire()),
                    batchable: false,
                };
                (channel, disposition)
            })
            .collect();
        for (channel, disposition) in frames {
            if self.session_mut(channel).is_some() {
                self.write(channel, &disposition);
            }
        }
        pending.clear();
        self.pending_dispositions = pending;
    }

    /// Writes everything deferred to the end of a batch: dispositions, then flows.
    pub(crate) fn flush(&mut self) {
        if self.phase != Phase::Opened {
            // Nothing may follow our close.
            self.pending_dispositions.clear();
            self.dirty_links.clear();
            self.dirty_sessions.clear();
            return;
        }
        self.flush_dispositions();
        for id in std::mem::take(&mut self.dirty_links) {
            if self
                .link(id)
                .is_some_and(|l| l.needs_flow && l.state == LinkState::Attached)
            {
                self.write_link_flow(id);
            }
        }
        for channel in std::mem::take(&mut self.dirty_sessions) {
            if let Some(session) = self.session_mut(channel).filter(|s| s.needs_flow) {
                session.needs_flow = false;
                let flow = session.flow();
                self.write(channel, &flow);
            }
        }
    }

    /// Writes queued transfer frames of the session while the client's window allows.
    pub(crate) fn pump_outbox(&mut self, channel: u16) {
        let max_frame = self.remote_max_frame;
        let Some(session) = session_at(&mut self.sessions, channel) else {
            return;
        };
        while session.remote_incoming_window > 0 {
            if self.out.len() >= OUTPUT_HIGH_WATER {
                self.output_held = true;
                break;
            }
            let Some(t) = session.outbox.front_mut() else {
                break;
            };
            let first =
                (!t.started).then_some((t.delivery_id, &t.tag, t.message_format, t.settled));
            encode_transfer(&mut self.scratch, t.handle, first, true, false);
            let room = max_frame
                .saturating_sub(HEADER_LEN + self.scratch.len())
                .max(1);
            let more = t.payload.len() > room;
            if !more {
                encode_transfer(&mut self.scratch, t.handle, first, false, false);
            }
            let chunk = t.payload.split_to(t.payload.len().min(room));
            write_transfer_frame(&mut self.out, channel, &self.scratch, &chunk);
            t.started = true;
            session.next_outgoing_id = session.next_outgoing_id.wrapping_add(1);
            session.remote_incoming_window -= 1;
            if !more {
                session.outbox.pop_front();
            }
        }
        self.feed_starved(channel);
    }

    /// Once the output has drained below [`OUTPUT_HIGH_WATER`]: writes what the sessions
    /// held back for it.
    pub(crate) fn resume_output(&mut self) {
        if !self.output_held || self.out.len() >= OUTPUT_HIGH_WATER {
            return;
        }
        self.output_held = false;
        for channel in 0..self.sessions.len() {
            let waiting = self.sessions[channel]
                .as_ref()
                .is_some_and(|s| !s.outbox.is_empty() || s.starved.get());
            if let (true, Ok(channel)) = (waiting, u16::try_from(channel)) {
                self.pump_outbox(channel);
            }
        }
    }

    /// Drops queued deliveries of a link; a partly written one is aborted on the wire.
    pub(crate) fn purge_outbox(&mut self, channel: u16, id: LinkId) {
        let Some(session) = session_at(&mut self.sessions, channel) else {
            return;
        };
        let mut aborted = None;
        session.outbox.retain(|t| {
            if t.link == id && t.started {
                aborted = Some(t.handle);
            }
            t.link != id
        });
        if let Some(handle) = aborted {
            encode_transfer(&mut self.scratch, handle, None, false, true);
            write_transfer_frame(&mut self.out, channel, &self.scratch, &[]);
            session.next_outgoing_id = session.next_outgoing_id.wrapping_add(1);
            session.remote_incoming_window = session.remote_incoming_window.saturating_sub(1);
        }
    }
}

/// Encodes a transfer performative into `out` (cleared first) by hand: this is the hot
/// path and needs no allocation. `first` carries the fields of a delivery's first frame:
/// delivery id, tag, message format and settled.
pub(crate) fn encode_transfer(
    out: &mut Vec<u8>,
    handle: u32,
    first: Option<(u32, &DeliveryTag, u32, bool)>,
    more: bool,
    aborted: bool,
) {
    out.clear();
    out.extend_from_slice(&[0x00, 0x53, 0x14, 0xc0, 0, 0]);
    let mut count = 1u8;
    put_uint(out, handle);
    if let Some((delivery_id, tag, format, settled)) = first {
        put_uint(out, delivery_id);
        out.push(0xa0);
        out.push(tag.as_bytes().len() as u8);
        out.extend_from_slice(tag.as_bytes());
        put_uint(out, format);
        out.push(if settled { 0x41 } else { 0x42 });
        count = 5;
    }
    if more || aborted {
        for _ in count..5 {
            out.push(0x40); // null for the absent first-frame fields
        }
        out.push(if more { 0x41 } else { 0x42 });
        count = 6;
        if aborted {
            out.extend_from_slice(&[0x40, 0x40, 0x42, 0x41]); // rcv-settle-mode, state, resume, aborted
            count = 10;
        }
    }
    // list8: size counts the count byte and the items; at most ~70 bytes here.
    out[4] = (out.len() - 5) as u8;
    out[5] = count;
}

fn put_uint(out: &mut Vec<u8>, v: u32) {
    match v {
        0 => out.push(0x43),
        1..=255 => {
            out.push(0x52);
            out.push(v as u8);
        }
        _ => {
            out.push(0x70);
            out.put_u32(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp_types::performatives::Transfer;

    #[test]
    fn hand_encoded_transfers_decode_with_the_reference_types() {
        let tag = DeliveryTag::new(&[9u8; 16]).unwrap();
        let mut buf = Vec::new();
        for (id, fmt, settled, more) in [
            (0u32, 0u32, false, false),
            (300, 0x8001_3700, true, true),
            (7, 1, false, true),
        ] {
            encode_transfer(
                &mut buf,
                70_000,
                Some((id, &tag, fmt, settled)),
                more,
                false,
            );
            let t: Transfer = serde_amqp::from_slice(&buf).unwrap();
            assert_eq!(t.handle.0, 70_000);
            assert_eq!(t.delivery_id, Some(id));
            assert_eq!(
                t.delivery_tag.as_deref().map(Vec::as_slice),
                Some(&[9u8; 16][..])
            );
            assert_eq!(t.message_format, Some(fmt));
            assert_eq!(t.settled, Some(settled));
            assert_eq!(t.more, more);
        }
        encode_transfer(&mut buf, 3, None, true, false);
        let t: Transfer = serde_amqp::from_slice(&buf).unwrap();
        assert_eq!((t.handle.0, t.delivery_id, t.more), (3, None, true));
        encode_transfer(&mut buf, 3, None, false, true);
        let t: Transfer = serde_amqp::from_slice(&buf).unwrap();
        assert!(t.aborted && !t.more);
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod backpressure_tests;
