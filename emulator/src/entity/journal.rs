//! The entity's link to the durable store: records are built only when there is a store.
//!
//! LSNs here count within one process: after a restart the log numbers from 0 again, and so
//! does every gate set from them.

use std::task::Waker;

use crate::store::record::Record;
use crate::store::{Commit, StoreHandle};

use super::EntityError;

/// Logs an entity's changes (or does nothing, in memory) and hands out commits.
pub(crate) struct Journal {
    store: Option<StoreHandle>,
    /// The entity's store id.
    pub id: u32,
    lsn: u64,
}

impl Journal {
    pub fn new(store: Option<StoreHandle>, id: u32) -> Self {
        Self { store, id, lsn: 0 }
    }

    /// Fails if the store can no longer record changes.
    pub fn check(&self) -> Result<(), EntityError> {
        match &self.store {
            Some(s) => s.healthy(),
            None => Ok(()),
        }
    }

    /// Logs the record `make` builds (not called in memory).
    pub fn log<'r>(&mut self, make: impl FnOnce(u32) -> Record<'r>) {
        if let Some(store) = &self.store {
            self.lsn = store.append(&make(self.id));
        }
    }

    /// The LSN of this entity's last record (0 in memory or before its first).
    pub fn lsn(&self) -> u64 {
        self.lsn
    }

    /// Whether `lsn` is durable (always in memory); if not, `waker` is woken once it is.
    pub fn durable_or_wake(&self, lsn: u64, waker: Option<&Waker>) -> Result<bool, EntityError> {
        match &self.store {
            Some(s) if lsn > 0 => s.durable_or_wake(lsn, waker),
            _ => Ok(true),
        }
    }

    /// A commit covering every record of the whole log so far: what a reply that shows state
    /// (a topic's fan-out is logged by the topic, not by its subscriptions) waits for.
    pub fn commit_all(&self) -> Commit {
        match &self.store {
            Some(s) => s.commit_all(),
            None => Commit::ready(),
        }
    }

    /// A commit covering everything this entity logged so far.
    pub fn commit(&self) -> Commit {
        match &self.store {
            Some(s) => s.commit(self.lsn),
            None => Commit::ready(),
        }
    }
}
