//! Getting a connection's handler called again: a `std::task::Waker` for the entity layer's
//! waiters, and an alarm for the next deadline (session lock expiry, next-session timeout).

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::amqp::ConnectionWaker;

struct WakeConnection(ConnectionWaker);

impl Wake for WakeConnection {
    fn wake(self: Arc<Self>) {
        self.0.wake();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.wake();
    }
}

/// A task waker that schedules the connection's `on_wake` (cheap to wake, safe to wake under
/// the entity lock).
pub fn task_waker(waker: ConnectionWaker) -> Waker {
    Waker::from(Arc::new(WakeConnection(waker)))
}

/// Wakes the connection at one deadline at a time; the task ends when the alarm is dropped.
#[derive(Debug)]
pub struct Alarm {
    deadline: watch::Sender<Option<Instant>>,
}

/// Deadlines are never set closer than this, so a check that finds nothing due yet (clocks
/// differ by a hair) cannot spin.
const MIN_DELAY: Duration = Duration::from_millis(5);

impl Alarm {
    /// Starts the alarm task on the current runtime.
    pub fn start(waker: ConnectionWaker) -> Self {
        let (deadline, mut rx) = watch::channel(None::<Instant>);
        tokio::spawn(async move {
            loop {
                let next = *rx.borrow_and_update();
                let fired = match next {
                    Some(at) => tokio::select! {
                        () = tokio::time::sleep_until(at) => true,
                        changed = rx.changed() => if changed.is_err() { break } else { false },
                    },
                    None => false,
                };
                if fired {
                    waker.wake();
                }
                if fired || next.is_none() {
                    // Sleep until the handler sets the next deadline (or drops the alarm).
                    if rx.changed().await.is_err() {
                        break;
                    }
                }
            }
        });
        Self { deadline }
    }

    /// Sets the next deadline (`None`: nothing to wait for).
    pub fn set(&self, at: Option<Instant>) {
        let at = at.map(|at| at.max(Instant::now() + MIN_DELAY));
        self.deadline.send_replace(at);
    }
}

/// The Tokio instant at which a wall-clock time is reached.
pub fn instant_at(at: std::time::SystemTime) -> Instant {
    let now = Instant::now();
    match at.duration_since(std::time::SystemTime::now()) {
        Ok(ahead) => now + ahead,
        Err(_) => now,
    }
}
