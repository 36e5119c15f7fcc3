//! The namespace timer: one task with a min-heap of (deadline, entity). Entities keep their own
//! ordered deadline sets and arm the timer only when their earliest deadline moves earlier, so
//! the hot path rarely touches it; when a deadline passes the entity processes what is due and
//! re-arms with its next one.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::sync::Weak;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::handle::EntityShared;

/// Arms the namespace timer.
#[derive(Clone)]
pub(crate) struct TimerHandle {
    tx: mpsc::UnboundedSender<(Instant, Weak<EntityShared>)>,
}

impl TimerHandle {
    /// Starts the timer task: on the current Tokio runtime if there is one, else on a small
    /// thread of its own. The task ends when every handle is gone.
    pub fn start() -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => {
                rt.spawn(run(rx));
            }
            Err(_) => {
                let spawned = std::thread::Builder::new()
                    .name("berth-entity-timer".into())
                    .spawn(move || {
                        match tokio::runtime::Builder::new_current_thread()
                            .enable_time()
                            .build()
                        {
                            Ok(rt) => rt.block_on(run(rx)),
                            Err(e) => tracing::error!(error = %e, "cannot start the entity timer"),
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start the entity timer thread");
                }
            }
        }
        Self { tx }
    }

    /// Asks for `entity.on_timer()` at `at`.
    pub fn arm(&self, at: Instant, entity: Weak<EntityShared>) {
        let _ = self.tx.send((at, entity));
    }
}

struct Entry {
    at: Instant,
    n: u64,
    entity: Weak<EntityShared>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.n) == (other.at, other.n)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.n).cmp(&(other.at, other.n))
    }
}

async fn run(mut rx: mpsc::UnboundedReceiver<(Instant, Weak<EntityShared>)>) {
    let mut heap: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
    let mut n = 0u64;
    loop {
        let next = heap.peek().map(|e| e.0.at);
        tokio::select! {
            biased;
            msg = rx.recv() => match msg {
                Some((at, entity)) => {
                    n += 1;
                    heap.push(Reverse(Entry { at, n, entity }));
                }
                None => return,
            },
            () = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                let now = Instant::now();
                while heap.peek().is_some_and(|e| e.0.at <= now) {
                    if let Some(Reverse(e)) = heap.pop() {
                        if let Some(entity) = e.entity.upgrade() {
                            entity.on_timer();
                        }
                    }
                }
            }
        }
    }
}
