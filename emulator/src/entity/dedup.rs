//! Duplicate detection history: the message ids a queue or topic accepted within its window.
//!
//! Service Bus keeps the application-set `MessageId` of every message sent to an entity that
//! requires duplicate detection for `duplicate_detection_history_time_window`; a message whose
//! id is in the history is reported as accepted and dropped. Only the id counts (sessions are
//! no exception). A message that arrives without an id (Berth gives it one) is never a
//! duplicate. A duplicate does not refresh the time its id was first seen.
//!
//! Chosen where the documentation is silent: a duplicate *scheduled* message gets the sequence
//! number of the message that was kept (so cancelling by that number cancels the kept one);
//! ids of messages forwarded out of an entity's own sub-queues (dead-letter forwarding,
//! scheduled messages activating in a forwarding entity) are not known to the entity layer and
//! are not checked again at the destination.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

/// The history of one queue or topic.
pub(crate) struct Dedup {
    window: Duration,
    /// Message id → (first seen, sequence number given).
    seen: HashMap<String, (Instant, i64)>,
    /// Ids in the order they were seen, for pruning.
    order: VecDeque<(Instant, String)>,
}

impl Dedup {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// The sequence number of the message kept with this id, if it is inside the window.
    pub fn duplicate_of(&mut self, id: &str, now: Instant) -> Option<i64> {
        self.prune(now);
        self.seen.get(id).map(|&(_, seq)| seq)
    }

    /// Remembers `id` as seen at `at`.
    pub fn remember(&mut self, id: &str, at: Instant, seq: i64) {
        self.seen.insert(id.to_owned(), (at, seq));
        self.order.push_back((at, id.to_owned()));
    }

    /// Remembers an id recovered from the log, seen at wall-clock time `at`.
    pub fn restore(&mut self, id: &str, at: SystemTime, seq: i64, now: Instant, wall: SystemTime) {
        let ago = wall.duration_since(at).unwrap_or(Duration::ZERO);
        if ago >= self.window {
            return;
        }
        let at = now.checked_sub(ago).unwrap_or(now);
        self.remember(id, at, seq);
    }

    /// How many ids are remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    fn prune(&mut self, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < self.window {
                break;
            }
            if let Some((at, id)) = self.order.pop_front() {
                if self.seen.get(&id).is_some_and(|&(first, _)| first == at) {
                    self.seen.remove(&id);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_duplicate_inside_the_window_only() {
        let mut d = Dedup::new(Duration::from_secs(20));
        let t0 = Instant::now();
        assert_eq!(d.duplicate_of("a", t0), None);
        d.remember("a", t0, 7);
        assert_eq!(d.duplicate_of("a", t0 + Duration::from_secs(19)), Some(7));
        assert_eq!(d.duplicate_of("b", t0 + Duration::from_secs(19)), None);
        assert_eq!(d.duplicate_of("a", t0 + Duration::from_secs(20)), None);
        assert_eq!(d.len(), 0, "pruned once the window passed");
    }

    #[test]
    fn restored_ids_keep_their_age() {
        let mut d = Dedup::new(Duration::from_secs(60));
        let now = Instant::now();
        let wall = SystemTime::now();
        d.restore("old", wall - Duration::from_secs(61), 1, now, wall);
        d.restore("recent", wall - Duration::from_secs(50), 2, now, wall);
        assert_eq!(d.duplicate_of("old", now), None);
        assert_eq!(d.duplicate_of("recent", now), Some(2));
        assert_eq!(d.duplicate_of("recent", now + Duration::from_secs(10)), None);
    }
}
