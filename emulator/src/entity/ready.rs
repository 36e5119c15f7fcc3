//! The ready queue: sequence numbers of available messages, lowest first.
//!
//! New messages arrive in increasing order and go to a FIFO (O(1)); messages that come back
//! (abandoned, released, lock expired, scheduled ones turning active, dead letters) go to a
//! min-heap, so the lowest sequence number is always handed out first. Messages removed while
//! available (expiry) leave a stale entry that is skipped when popped: `len` stays exact.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::task::Waker;

#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    fifo: VecDeque<i64>,
    returned: BinaryHeap<Reverse<i64>>,
    len: usize,
}

impl ReadyQueue {
    /// Adds an available message.
    pub fn push(&mut self, seq: i64) {
        if self.len == 0 {
            // Only stale entries are left: drop them.
            self.fifo.clear();
            self.returned.clear();
        }
        match self.fifo.back() {
            Some(&last) if seq <= last => self.returned.push(Reverse(seq)),
            _ => self.fifo.push_back(seq),
        }
        self.len += 1;
    }

    /// Takes the lowest sequence number that `valid` accepts, skipping stale entries.
    pub fn pop(&mut self, valid: impl Fn(i64) -> bool) -> Option<i64> {
        while self.len > 0 {
            let front = self.fifo.front().copied();
            let heap = self.returned.peek().map(|r| r.0);
            let seq = match (front, heap) {
                (Some(f), Some(h)) if h < f => self.returned.pop().map(|r| r.0),
                (Some(_), _) => self.fifo.pop_front(),
                (None, Some(_)) => self.returned.pop().map(|r| r.0),
                (None, None) => {
                    self.len = 0;
                    return None;
                }
            }?;
            if valid(seq) {
                self.len -= 1;
                return Some(seq);
            }
        }
        None
    }

    /// Notes that an available message left without being popped (its entry is now stale).
    pub fn forget_one(&mut self) {
        self.len = self.len.saturating_sub(1);
    }

    /// Whether none is available.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Wakers of receivers waiting for something to become available.
#[derive(Debug, Default)]
pub(crate) struct Waiters(Vec<Waker>);

impl Waiters {
    /// Registers a waker (once: a waker that would wake the same task is not added twice).
    pub fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    /// Wakes and forgets every waiter.
    pub fn wake_all(&mut self) {
        for w in self.0.drain(..) {
            w.wake();
        }
    }
}
