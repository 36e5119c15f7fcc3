//! Sessions: transfer windows, the handle → link map, delivery-id bookkeeping and the
//! queue of outgoing transfers waiting for the client's incoming window.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use bytes::Bytes;
use fe2o3_amqp_types::performatives::{Begin, Flow};

use super::{delivery::DeliveryTag, link::LinkId};

/// An outgoing delivery not yet (completely) written because the client's session
/// window is closed.
#[derive(Debug)]
pub(crate) struct QueuedTransfer {
    pub link: LinkId,
    pub handle: u32,
    pub delivery_id: u32,
    pub tag: DeliveryTag,
    pub message_format: u32,
    pub settled: bool,
    /// Remaining payload (shrinks as frames go out).
    pub payload: Bytes,
    /// At least one frame of this delivery is already written.
    pub started: bool,
}

/// An outgoing unsettled delivery.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unsettled {
    pub link: LinkId,
    pub tag: DeliveryTag,
}

/// An incoming unsettled delivery.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IncomingUnsettled {
    pub link: LinkId,
    /// We already sent our (unsettled) outcome and wait for the client to settle
    /// (`rcv-settle-mode = second`).
    pub awaiting_settle: bool,
}

/// Per-session protocol state. Our outgoing channel equals the client's channel.
#[derive(Debug)]
pub(crate) struct Session {
    pub channel: u16,
    pub handle_max: u32,
    /// Transfer id we expect next from the client.
    pub next_incoming_id: u32,
    /// Frames the client may still send before we re-open the window.
    pub incoming_window: u32,
    /// Transfer id of our next transfer frame.
    pub next_outgoing_id: u32,
    /// Frames the client still accepts from us.
    pub remote_incoming_window: u32,
    /// Delivery id of our next delivery.
    pub next_delivery_id: u32,
    /// Client handle → link.
    pub handles: HashMap<u32, LinkId>,
    /// Handles that were attached and are detached now (late frames are ignored).
    pub retired_handles: HashSet<u32>,
    /// Our unsettled deliveries by delivery id.
    pub outgoing_unsettled: BTreeMap<u32, Unsettled>,
    /// The client's unsettled deliveries by delivery id.
    pub incoming_unsettled: HashMap<u32, IncomingUnsettled>,
    /// Deliveries waiting for window.
    pub outbox: VecDeque<QueuedTransfer>,
    /// A session-level flow must go out with the next flush.
    pub needs_flow: bool,
    /// The handler was told a sender link of this session has no credit because
    /// deliveries are held back; it hears a flow once they move.
    pub starved: std::cell::Cell<bool>,
}

/// The session on `channel` in a channel-indexed table.
pub(crate) fn session_at(sessions: &mut [Option<Session>], channel: u16) -> Option<&mut Session> {
    sessions
        .get_mut(usize::from(channel))
        .and_then(Option::as_mut)
}

/// Our outgoing window: we never hold transfers back for it, so advertise plenty.
pub(crate) const OUTGOING_WINDOW: u32 = i32::MAX as u32;

impl Session {
    pub(crate) fn new(channel: u16, begin: &Begin, window: u32, handle_max: u32) -> Self {
        Self {
            channel,
            handle_max: handle_max.min(begin.handle_max.0),
            next_incoming_id: begin.next_outgoing_id,
            incoming_window: window,
            next_outgoing_id: 0,
            remote_incoming_window: begin.incoming_window,
            next_delivery_id: 0,
            handles: HashMap::new(),
            retired_handles: HashSet::new(),
            outgoing_unsettled: BTreeMap::new(),
            incoming_unsettled: HashMap::new(),
            outbox: VecDeque::new(),
            needs_flow: false,
            starved: std::cell::Cell::new(false),
        }
    }

    /// Too many deliveries wait for the client's window or its settlement to start more
    /// (see `Engine::usable_credit`).
    pub(crate) fn is_backed_up(&self) -> bool {
        self.outbox.len() >= super::output::MAX_HELD_DELIVERIES
            || self.outgoing_unsettled.len() >= super::output::MAX_UNSETTLED_OUTGOING
    }

    /// Our `begin` answering the client's.
    pub(crate) fn begin_reply(&self) -> Begin {
        Begin {
            remote_channel: Some(self.channel),
            next_outgoing_id: self.next_outgoing_id,
            incoming_window: self.incoming_window,
            outgoing_window: OUTGOING_WINDOW,
            handle_max: self.handle_max.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }
    }

    /// Session-level fields of a flow frame (link fields left empty).
    pub(crate) fn flow(&self) -> Flow {
        Flow {
            next_incoming_id: Some(self.next_incoming_id),
            incoming_window: self.incoming_window,
            next_outgoing_id: self.next_outgoing_id,
            outgoing_window: OUTGOING_WINDOW,
            handle: None,
            delivery_count: None,
            link_credit: None,
            available: None,
            drain: false,
            echo: false,
            properties: None,
        }
    }

    /// Applies the session fields of a client flow.
    pub(crate) fn apply_flow(&mut self, flow: &Flow) {
        // remote-incoming-window = next-incoming-id(flow) + incoming-window(flow) - next-outgoing-id(ours)
        let base = flow.next_incoming_id.unwrap_or(0);
        let limit = base.wrapping_add(flow.incoming_window);
        let diff = limit.wrapping_sub(self.next_outgoing_id);
        self.remote_incoming_window = if diff > i32::MAX as u32 { 0 } else { diff };
    }

    /// Counts one incoming transfer frame; re-opens our window when half is used.
    /// Returns `true` if the new window must be announced with a flow.
    pub(crate) fn on_incoming_transfer_frame(&mut self, window: u32) -> bool {
        self.next_incoming_id = self.next_incoming_id.wrapping_add(1);
        self.incoming_window = self.incoming_window.saturating_sub(1);
        if self.incoming_window <= window / 2 {
            self.incoming_window = window;
            return true;
        }
        false
    }

    /// Unsettled outgoing delivery ids in `first..=last` (serial-number ranges that wrap
    /// are split in two). Bounded by the number of unsettled deliveries.
    pub(crate) fn outgoing_in_range(&self, first: u32, last: u32) -> Vec<u32> {
        if first <= last {
            self.outgoing_unsettled
                .range(first..=last)
                .map(|(id, _)| *id)
                .collect()
        } else {
            let mut ids: Vec<u32> = self
                .outgoing_unsettled
                .range(first..)
                .map(|(id, _)| *id)
                .collect();
            ids.extend(self.outgoing_unsettled.range(..=last).map(|(id, _)| *id));
            ids
        }
    }

    /// Unsettled incoming delivery ids in `first..=last`, bounded by the map size.
    pub(crate) fn incoming_in_range(&self, first: u32, last: u32) -> Vec<u32> {
        let span = u64::from(last.wrapping_sub(first)) + 1;
        if span <= self.incoming_unsettled.len() as u64 {
            (0..span as u32)
                .map(|i| first.wrapping_add(i))
                .filter(|id| self.incoming_unsettled.contains_key(id))
                .collect()
        } else {
            self.incoming_unsettled
                .keys()
                .copied()
                .filter(|id| id.wrapping_sub(first) <= last.wrapping_sub(first))
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let begin = Begin {
            remote_channel: None,
            next_outgoing_id: 5,
            incoming_window: 10,
            outgoing_window: 10,
            handle_max: 100.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        };
        Session::new(0, &begin, 8, 1000)
    }

    #[test]
    fn windows_follow_flows_and_reopen_at_half() {
        let mut s = session();
        assert_eq!(
            (s.next_incoming_id, s.remote_incoming_window, s.handle_max),
            (5, 10, 100)
        );
        for _ in 0..3 {
            assert!(!s.on_incoming_transfer_frame(8));
        }
        assert!(s.on_incoming_transfer_frame(8));
        assert_eq!((s.next_incoming_id, s.incoming_window), (9, 8));
        s.next_outgoing_id = 7;
        let mut f = s.flow();
        f.next_incoming_id = Some(4);
        f.incoming_window = 5;
        s.apply_flow(&f);
        assert_eq!(s.remote_incoming_window, 2);
    }

    #[test]
    fn huge_disposition_ranges_do_not_iterate_the_range() {
        let mut s = session();
        let link = LinkId {
            index: 0,
            generation: 0,
        };
        for id in [1u32, 2, 9, u32::MAX] {
            s.incoming_unsettled.insert(
                id,
                IncomingUnsettled {
                    link,
                    awaiting_settle: false,
                },
            );
            s.outgoing_unsettled.insert(
                id,
                Unsettled {
                    link,
                    tag: DeliveryTag::new(b"t").unwrap(),
                },
            );
        }
        let mut ids = s.incoming_in_range(0, u32::MAX - 1);
        ids.sort_unstable();
        assert_eq!(ids, vec![1, 2, 9]);
        assert_eq!(s.outgoing_in_range(u32::MAX, 1), vec![u32::MAX, 1]);
        assert_eq!(s.incoming_in_range(2, 2), vec![2]);
    }
}
