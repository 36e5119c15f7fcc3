//! The entity's link to the durable store: records are built only when there is a store.

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

    /// A commit covering everything this entity logged so far.
    pub fn commit(&self) -> Commit {
        match &self.store {
            Some(s) => s.commit(self.lsn),
            None => Commit::ready(),
        }
    }
}
