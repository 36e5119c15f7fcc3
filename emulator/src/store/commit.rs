//! `Commit`: a ticket that resolves once an operation's log records are on disk.

use std::sync::Arc;

use tokio::sync::watch;

use crate::entity::EntityError;

/// How far the log is durable, published by the writer after every `fdatasync`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Durability {
    /// Every record with a log sequence number up to this one is on disk.
    pub lsn: u64,
    /// Set once writing failed; later records will never become durable.
    pub failed: Option<Arc<str>>,
}

/// Resolves once the operation that returned it is durable. In-memory namespaces hand out
/// commits that are ready at once. Dropping a commit does not undo anything: the operation has
/// happened in memory either way; waiting only tells when (and whether) it reached the disk.
#[derive(Debug)]
pub struct Commit {
    wait: Option<(watch::Receiver<Durability>, u64)>,
}

impl Commit {
    /// A commit with nothing to wait for.
    pub fn ready() -> Self {
        Self { wait: None }
    }

    pub(crate) fn at(rx: watch::Receiver<Durability>, lsn: u64) -> Self {
        Self {
            wait: Some((rx, lsn)),
        }
    }

    /// Whether the operation is known durable already (always true in memory).
    pub fn is_durable(&self) -> bool {
        match &self.wait {
            None => true,
            Some((rx, lsn)) => rx.borrow().lsn >= *lsn,
        }
    }

    /// Waits until the operation is on disk; fails if the log could not be written.
    pub async fn wait(self) -> Result<(), EntityError> {
        let Some((mut rx, lsn)) = self.wait else {
            return Ok(());
        };
        let outcome = rx
            .wait_for(|d| d.lsn >= lsn || d.failed.is_some())
            .await
            .map(|d| d.clone());
        let seen = match outcome {
            Ok(d) => d,
            Err(_) => rx.borrow().clone(),
        };
        if seen.lsn >= lsn {
            Ok(())
        } else {
            Err(EntityError::Store(seen.failed.map_or_else(
                || "the log writer stopped".to_owned(),
                |f| f.to_string(),
            )))
        }
    }

    /// The later of two commits (log order makes waiting for the later one enough).
    pub fn and(self, other: Commit) -> Commit {
        match (&self.wait, &other.wait) {
            (None, _) => other,
            (_, None) => self,
            (Some((_, a)), Some((_, b))) => {
                if a >= b {
                    self
                } else {
                    other
                }
            }
        }
    }
}
