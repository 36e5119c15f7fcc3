//! Admission of new connections: how many a listener serves at once, and how a connection
//! over the limit is refused with a clear AMQP error instead of a silent reset.
//!
//! A refused client still gets the protocol header exchange, our `open` and then `close`
//! with `amqp:resource-limit-exceeded`, so SDKs report "too many connections" rather than a
//! transport failure. Refusals are themselves bounded ([`MAX_REFUSING`]): beyond that, the
//! socket is dropped at once, so a flood of connections cannot pile up refusal tasks.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use fe2o3_amqp_types::performatives::Attach;

use super::{
    delivery::IncomingDelivery,
    handler::{ConnectionHandler, Context, PeerInfo},
    link::LinkId,
    outcome::ErrorInfo,
};

/// Most connections being refused at once (each lives until its handshake ends or times
/// out); connections beyond it are dropped without a word.
pub(crate) const MAX_REFUSING: usize = 64;

/// A shared count of live connections.
#[derive(Clone, Debug, Default)]
pub(crate) struct ConnectionCount(Arc<AtomicUsize>);

impl ConnectionCount {
    /// Counts one more connection if fewer than `max` are live; the slot is freed when the
    /// returned guard is dropped.
    pub(crate) fn try_admit(&self, max: usize) -> Option<Admitted> {
        self.0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Admitted(self.0.clone()))
    }
}

/// One counted connection; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Admitted(Arc<AtomicUsize>);

impl Drop for Admitted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The error a connection over the limit is closed with.
pub(crate) fn too_many_connections(max: usize) -> ErrorInfo {
    ErrorInfo::new(
        "amqp:resource-limit-exceeded",
        format!(
            "The broker serves at most {max} concurrent connections; close another connection \
             or raise the broker's connection limit."
        ),
    )
}

/// The handler of a refused connection: closes it as soon as the client's `open` arrives.
#[derive(Debug)]
pub(crate) struct Refusal {
    pub error: ErrorInfo,
}

impl ConnectionHandler for Refusal {
    fn on_open(&mut self, cx: &mut Context<'_>, _peer: &PeerInfo) {
        cx.close(Some(self.error.clone()));
    }

    fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, _attach: &Attach) {
        // Only reachable if a pipelined attach arrives with the open; the close follows.
        let _ = cx.refuse_attach(link, self.error.clone());
    }

    fn on_transfer(&mut self, _cx: &mut Context<'_>, _link: LinkId, _delivery: IncomingDelivery) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_counted_up_to_the_limit_and_freed_on_drop() {
        let count = ConnectionCount::default();
        let a = count.try_admit(2).expect("first");
        let b = count.try_admit(2).expect("second");
        assert!(count.try_admit(2).is_none(), "third is over the limit");
        drop(a);
        let c = count.try_admit(2).expect("a freed slot is reused");
        drop((b, c));
        let all: Vec<_> = (0..2).filter_map(|_| count.try_admit(2)).collect();
        assert_eq!(all.len(), 2, "every slot is free again");
    }
}
