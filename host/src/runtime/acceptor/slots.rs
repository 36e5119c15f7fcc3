//! The bound on the sessions a trigger processes at once (`max_concurrent_sessions`), and
//! parking: a session that has shown no message for a moment gives its slot back while it
//! keeps waiting for more, so an idle session never holds up accepting the next one.
//!
//! A slot is a semaphore permit. The acceptor takes one before it asks the broker for a
//! session and hands it to that session's pump. A pump whose session went quiet *parks*: it
//! drops the permit and joins the parked list, still holding the session lock and still
//! waiting for a message until `session_idle_timeout`. The acceptor is then free to accept
//! another session; each time it does while more sessions are parked than slots exist, the
//! longest-parked one is evicted (released at once, as if its idle timeout had passed), so
//! the sessions held stay within twice `max_concurrent_sessions`.
//!
//! A parked session that receives a message unparks: it needs a slot again before the
//! message is handled. When none is free it takes the one the acceptor holds while waiting
//! for the broker, so a waiting accept never delays a session that has work. The accept
//! itself goes on (abandoning an attach half-way would leave the broker with a link the
//! client no longer knows); a session it brings starts without a slot and waits for one
//! before its first message, as an unparked session does.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

/// The slots of one trigger.
pub(crate) struct Slots {
    active: Arc<Semaphore>,
    parked: Mutex<Parked>,
    /// Signalled by a session that unparked and found no free slot.
    wanted: Notify,
    /// At most this many sessions stay parked once another has been accepted.
    park_limit: usize,
}

#[derive(Default)]
struct Parked {
    next_id: u64,
    /// Oldest first: (ticket, fired when the session is evicted).
    sessions: VecDeque<(u64, CancellationToken)>,
}

impl Slots {
    /// `max` slots (at least 1).
    pub(crate) fn new(max: u32) -> Arc<Self> {
        let max = max.max(1) as usize;
        Arc::new(Slots {
            active: Arc::new(Semaphore::new(max)),
            parked: Mutex::new(Parked::default()),
            wanted: Notify::new(),
            park_limit: max,
        })
    }

    /// Waits for a free slot, held until the permit is dropped; `None` on shutdown.
    pub(crate) async fn acquire(
        &self,
        shutdown: &CancellationToken,
    ) -> Option<OwnedSemaphorePermit> {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => None,
            permit = self.active.clone().acquire_owned() => permit.ok(),
        }
    }

    /// Resolves when an unparked session waits for a slot: the acceptor then gives back the
    /// one it holds for a pending accept.
    pub(crate) async fn wanted(&self) {
        self.wanted.notified().await;
    }

    /// Evicts the longest-parked sessions beyond the limit; called after each accept.
    pub(crate) fn evict_over_limit(&self) {
        let mut parked = self.parked.lock().unwrap_or_else(PoisonError::into_inner);
        while parked.sessions.len() > self.park_limit {
            if let Some((_, evicted)) = parked.sessions.pop_front() {
                evicted.cancel();
            }
        }
    }

    /// Sessions parked right now.
    #[cfg(test)]
    pub(crate) fn parked(&self) -> usize {
        self.parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .sessions
            .len()
    }
}

/// One pump's slot: held while it handles messages, given back while its session is parked.
pub(crate) struct Slot {
    slots: Arc<Slots>,
    permit: Option<OwnedSemaphorePermit>,
    ticket: Option<u64>,
}

impl Slot {
    /// A slot holding `permit` (taken with [`Slots::acquire`]), or, with `None`, one still
    /// to be taken with [`Slot::unpark`].
    pub(crate) fn new(slots: Arc<Slots>, permit: Option<OwnedSemaphorePermit>) -> Self {
        Slot {
            slots,
            permit,
            ticket: None,
        }
    }

    /// Gives the slot back and joins the parked list. The token fires if the session is
    /// evicted; the pump should then release it.
    pub(crate) fn park(&mut self) -> CancellationToken {
        self.permit = None;
        let evicted = CancellationToken::new();
        let mut parked = self
            .slots
            .parked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let ticket = parked.next_id;
        parked.next_id += 1;
        parked.sessions.push_back((ticket, evicted.clone()));
        self.ticket = Some(ticket);
        evicted
    }

    /// Whether the session is parked (has no slot).
    pub(crate) fn is_parked(&self) -> bool {
        self.permit.is_none()
    }

    /// Leaves the parked list and waits for a slot, taking the acceptor's if none is free.
    /// Cancel-safe: dropped early, the session simply stays without a slot.
    pub(crate) async fn unpark(&mut self) {
        self.leave_parked_list();
        if self.permit.is_some() {
            return;
        }
        let acquire = self.slots.active.clone().acquire_owned();
        tokio::pin!(acquire);
        // Poll once to queue for the semaphore, and only then ask the acceptor to give its
        // slot up, so the slot it gives back comes here.
        let permit = tokio::select! {
            biased;
            permit = &mut acquire => permit,
            _ = std::future::ready(()) => {
                self.slots.wanted.notify_one();
                acquire.await
            }
        };
        self.permit = permit.ok();
    }
}

impl Slot {
    fn leave_parked_list(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            let mut parked = self
                .slots
                .parked
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            parked.sessions.retain(|(t, _)| *t != ticket);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.leave_parked_list();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_parked_session_frees_its_slot_and_the_oldest_beyond_the_limit_is_evicted() {
        let slots = Slots::new(1);
        let never = CancellationToken::new();
        let mut first = Slot::new(slots.clone(), slots.acquire(&never).await);
        let first_evicted = first.park();
        // The slot is free again: a second session can be accepted.
        let mut second = Slot::new(slots.clone(), slots.acquire(&never).await);
        let second_evicted = second.park();
        assert_eq!(slots.parked(), 2);
        slots.evict_over_limit();
        assert!(first_evicted.is_cancelled());
        assert!(!second_evicted.is_cancelled());
        assert_eq!(slots.parked(), 1);
        drop(first);
        second.unpark().await;
        assert!(!second.is_parked());
        assert_eq!(slots.parked(), 0);
    }

    #[tokio::test]
    async fn an_unparking_session_asks_the_acceptor_for_its_slot_and_gets_it() {
        let slots = Slots::new(1);
        let never = CancellationToken::new();
        let mut parked = Slot::new(slots.clone(), slots.acquire(&never).await);
        parked.park();
        // The acceptor holds the only slot while it waits for the broker.
        let acceptor_permit = slots.acquire(&never).await.unwrap();
        let unpark = tokio::spawn(async move {
            parked.unpark().await;
            parked
        });
        slots.wanted().await;
        drop(acceptor_permit);
        let parked = unpark.await.unwrap();
        assert!(!parked.is_parked());
        // The acceptor queues again behind the session.
        assert!(slots.active.try_acquire().is_err());
    }
}
