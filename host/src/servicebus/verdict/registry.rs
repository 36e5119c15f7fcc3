//! The verdicts of one connection: which links are watched, who waits for which delivery's
//! verdict, and what the broker answered.
//!
//! A receiver watches its link by name before attaching ([`Verdicts::watch`]); the broker's
//! attach maps the name to the (channel, handle) the broker uses. Before each disposition
//! the receiver registers a waiter for (channel, delivery-id) ([`LinkWatch::expect`]); the
//! broker's settled disposition answers it, the link's detach, the session's end or the
//! connection's loss fail it. Entries live no longer than what holds them: a waiter is
//! removed when answered or dropped, a link when its [`LinkWatch`] is dropped, everything
//! when the connection is lost.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp_types::definitions;
use fe2o3_amqp_types::messaging::DeliveryState;
use tokio::sync::oneshot;

use super::frames::Event;
use super::Verdict;
use crate::servicebus::{errors, untrusted};

/// (broker channel, delivery-id).
type Key = (u16, u32);

/// The verdict registry of one connection.
#[derive(Default)]
pub(crate) struct Verdicts {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Set once the connection is gone or its stream could not be followed.
    lost: Option<ServiceBusError>,
    next_id: u64,
    /// Watched names whose broker attach has not been seen yet.
    pending: HashMap<String, u64>,
    links: HashMap<u64, Link>,
    by_address: HashMap<(u16, u32), u64>,
    waiters: BTreeMap<Key, Waiter>,
}

#[derive(Default)]
struct Link {
    /// The broker's (channel, handle), once its attach was seen.
    address: Option<(u16, u32)>,
    /// Why the link can no longer settle (detached, session ended).
    gone: Option<ServiceBusError>,
}

struct Waiter {
    link: u64,
    serial: u64,
    reply: oneshot::Sender<Verdict>,
}

impl Verdicts {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Watches the link named `name` (call before attaching it); the watch ends when the
    /// returned [`LinkWatch`] is dropped.
    pub fn watch(self: &Arc<Self>, name: &str) -> LinkWatch {
        let mut state = self.lock();
        state.next_id += 1;
        let id = state.next_id;
        state.pending.insert(name.to_owned(), id);
        state.links.insert(id, Link::default());
        LinkWatch {
            verdicts: self.clone(),
            id,
        }
    }

    /// Applies one event of the broker's stream.
    pub fn on_event(&self, event: Event<'_>) {
        // Answers to our sends, and anything the broker has not settled, concern no waiter.
        if let Event::Disposition { receiver: true, .. }
        | Event::Disposition { settled: false, .. } = event
        {
            return;
        }
        let mut state = self.lock();
        match event {
            Event::Attach {
                channel,
                name,
                handle,
                receiver: false,
            } => {
                if let Some(id) = state.pending.remove(name) {
                    if let Some(link) = state.links.get_mut(&id) {
                        link.address = Some((channel, handle));
                        state.by_address.insert((channel, handle), id);
                    }
                }
            }
            Event::Attach { .. } => {}
            Event::Disposition {
                channel,
                receiver: false,
                first,
                last,
                settled: true,
                state: delivery_state,
            } => state.settle(channel, first, last, delivery_state),
            Event::Disposition { .. } => {}
            Event::Detach {
                channel,
                handle,
                error,
            } => {
                if let Some(id) = state.by_address.remove(&(channel, handle)) {
                    let why = ended(error, "the broker detached the link");
                    state.fail_links(|link_id, _| link_id == id, &why);
                }
            }
            Event::End { channel, error } => {
                let why = ended(error, "the broker ended the link's AMQP session");
                state.by_address.retain(|(c, _), _| *c != channel);
                state.fail_links(
                    |_, link| link.address.is_some_and(|(c, _)| c == channel),
                    &why,
                );
            }
        }
    }

    /// The connection is gone (or its stream cannot be followed): every waiter fails, and so
    /// does every later wait.
    pub fn on_lost(&self, why: &str) {
        let mut state = self.lock();
        if state.lost.is_some() {
            return;
        }
        let error = ServiceBusError::new(
            ErrorKind::Connection,
            format!("{why}; the broker had not confirmed the settlement, which may or may not have been applied"),
        );
        for (_, waiter) in std::mem::take(&mut state.waiters) {
            let _ = waiter.reply.send(Verdict::Failed(error.clone()));
        }
        state.pending.clear();
        state.by_address.clear();
        state.lost = Some(error);
    }

    /// Entries held now (links watched, waiters), for tests that check nothing is left.
    #[cfg(test)]
    pub fn held(&self) -> (usize, usize) {
        let state = self.lock();
        (state.links.len(), state.waiters.len())
    }
}

impl State {
    fn settle(&mut self, channel: u16, first: u32, last: u32, delivery_state: Option<&[u8]>) {
        // Delivery-ids are serial numbers: a range may wrap past u32::MAX.
        let (upper, wrapped) = if last < first {
            (u32::MAX, Some(last))
        } else {
            (last, None)
        };
        let mut verdict = None;
        loop {
            let key = self
                .waiters
                .range((channel, first)..=(channel, upper))
                .chain(
                    wrapped
                        .iter()
                        .flat_map(|last| self.waiters.range((channel, 0)..=(channel, *last))),
                )
                .map(|(key, _)| *key)
                .next();
            let Some(waiter) = key.and_then(|key| self.waiters.remove(&key)) else {
                return;
            };
            let verdict = verdict.get_or_insert_with(|| decode_state(delivery_state));
            let _ = waiter.reply.send(verdict.clone());
        }
    }

    fn fail_links(&mut self, which: impl Fn(u64, &Link) -> bool, why: &ServiceBusError) {
        let mut failed = Vec::new();
        for (id, link) in self.links.iter_mut().filter(|(id, l)| which(**id, l)) {
            link.gone.get_or_insert_with(|| why.clone());
            failed.push(*id);
        }
        let keys: Vec<Key> = self
            .waiters
            .iter()
            .filter(|(_, w)| failed.contains(&w.link))
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            if let Some(waiter) = self.waiters.remove(&key) {
                let _ = waiter.reply.send(Verdict::Failed(why.clone()));
            }
        }
    }
}

/// Why a link ended: the broker's error if it gave one (its condition decides the kind),
/// else a connection-kind error saying `what` happened.
fn ended(error: Option<&[u8]>, what: &str) -> ServiceBusError {
    match error.map(untrusted::decode::<definitions::Error>) {
        Some(Ok(e)) => errors::from_amqp_error(&e),
        _ => ServiceBusError::new(
            ErrorKind::Connection,
            format!("{what} before confirming the settlement; it may or may not have been applied"),
        ),
    }
}

fn decode_state(raw: Option<&[u8]>) -> Verdict {
    let Some(raw) = raw else {
        return Verdict::Failed(ServiceBusError::new(
            ErrorKind::Other,
            "the broker settled the delivery without saying its outcome",
        ));
    };
    match untrusted::decode::<DeliveryState>(raw) {
        Ok(DeliveryState::Accepted(_)) => Verdict::Accepted,
        Ok(DeliveryState::Rejected(r)) => Verdict::Rejected(r.error),
        Ok(DeliveryState::Modified(_)) => Verdict::Modified,
        Ok(DeliveryState::Released(_)) => Verdict::Released,
        Ok(other) => Verdict::Failed(ServiceBusError::new(
            ErrorKind::Other,
            format!("the broker answered the settlement with {other:?}"),
        )),
        Err(e) => Verdict::Failed(ServiceBusError::new(
            ErrorKind::Other,
            format!("the broker's settlement outcome could not be decoded: {e}"),
        )),
    }
}

/// A watched link; dropping it forgets the link and fails its waiters.
pub(crate) struct LinkWatch {
    verdicts: Arc<Verdicts>,
    id: u64,
}

impl LinkWatch {
    /// Registers a waiter for the verdict on `delivery_id` of this link (call before sending
    /// the disposition).
    pub fn expect(&self, delivery_id: u32) -> Result<Expected, ServiceBusError> {
        let mut state = self.verdicts.lock();
        if let Some(lost) = &state.lost {
            return Err(lost.clone());
        }
        let link = state
            .links
            .get(&self.id)
            .ok_or_else(|| not_watched("no longer"))?;
        if let Some(gone) = &link.gone {
            return Err(gone.clone());
        }
        let (channel, _) = link.address.ok_or_else(|| not_watched("not yet"))?;
        state.next_id += 1;
        let serial = state.next_id;
        let (reply, verdict) = oneshot::channel();
        let key = (channel, delivery_id);
        // A waiter left for the same delivery is dropped: its wait ends as unknown.
        state.waiters.insert(
            key,
            Waiter {
                link: self.id,
                serial,
                reply,
            },
        );
        Ok(Expected {
            verdicts: self.verdicts.clone(),
            key,
            serial,
            verdict,
        })
    }
}

fn not_watched(when: &str) -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Other,
        format!("the host is {when} following this link's settlements"),
    )
}

impl Drop for LinkWatch {
    fn drop(&mut self) {
        let mut state = self.verdicts.lock();
        let id = self.id;
        state.pending.retain(|_, pending| *pending != id);
        if let Some(Link {
            address: Some(address),
            ..
        }) = state.links.remove(&id)
        {
            if state.by_address.get(&address) == Some(&id) {
                state.by_address.remove(&address);
            }
        }
        state.waiters.retain(|_, w| w.link != id);
    }
}

/// A registered wait for one delivery's verdict; dropping it withdraws the wait.
pub(crate) struct Expected {
    verdicts: Arc<Verdicts>,
    key: Key,
    serial: u64,
    verdict: oneshot::Receiver<Verdict>,
}

impl Expected {
    /// The verdict, or a failure when none came within `limit`.
    pub async fn wait(mut self, limit: Duration) -> Verdict {
        match tokio::time::timeout(limit, &mut self.verdict).await {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(_)) => Verdict::Failed(ServiceBusError::new(
                ErrorKind::Other,
                "the wait for the broker's verdict was withdrawn; the settlement's outcome is unknown",
            )),
            Err(_) => Verdict::Failed(ServiceBusError::new(
                ErrorKind::Timeout,
                format!(
                    "the broker did not confirm the settlement within {} s; it may or may not have been applied",
                    limit.as_secs()
                ),
            )),
        }
    }
}

impl Drop for Expected {
    fn drop(&mut self) {
        let mut state = self.verdicts.lock();
        if state
            .waiters
            .get(&self.key)
            .is_some_and(|w| w.serial == self.serial)
        {
            state.waiters.remove(&self.key);
        }
    }
}

#[cfg(test)]
#[path = "registry_tests.rs"]
mod tests;
