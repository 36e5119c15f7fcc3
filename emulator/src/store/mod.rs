//! Durability for the entity layer: an append-only, checksummed segment log with group
//! commit, recovery and compaction.
//!
//! * **Writing** (`log.rs`): operations frame a record into a shared buffer
//!   (no per-record allocation) and receive a [`Commit`]; one writer thread writes whatever
//!   queued up, `fdatasync`s, and publishes the durable position. A send is acknowledged only
//!   after its commit resolves, so an acknowledged message survives `kill -9`.
//! * **Records** (`record.rs`): entity create/delete, enqueue (bytes + metadata, one record for
//!   a topic's fan-out), remove (complete, receive-and-delete, expiry, cancel), dead-letter
//!   move, defer, body replacement, session state, sequence counters. Delivery counts and locks
//!   are not recorded: a message locked at a crash comes back available.
//! * **Recovery** (`recovery.rs`): replays the newest snapshot and the logs after it; a torn last
//!   record (length + CRC-32 per frame) is cut off.
//! * **Compaction** (`compaction.rs`): when sealed logs outweigh the last snapshot (and a
//!   floor), their live set is rewritten as a new snapshot and swapped in with a rename.

mod commit;
mod compaction;
mod crc;
mod log;
pub(crate) mod record;
pub(crate) mod recovery;
pub(crate) mod rules;
mod segment;
mod wire;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub use commit::Commit;

use crate::entity::EntityError;
use log::{LogShared, WriterStart};
use record::Record;
use recovery::Recovered;

/// Tuning of the durable store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// A log segment is sealed (and a new one started) once it grows past this (default 64 MiB).
    pub segment_bytes: u64,
    /// Sealed logs are compacted once they total at least this much and at least the size of
    /// the last snapshot (default 128 MiB).
    pub compaction_min_bytes: u64,
    /// Added before each batch is written: simulates a slow disk, so that crash tests can
    /// kill the broker while settlements wait for the disk. Zero (the default) in real use.
    pub write_delay: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            segment_bytes: 64 << 20,
            compaction_min_bytes: 128 << 20,
            write_delay: std::time::Duration::ZERO,
        }
    }
}

/// A handle on the open log, shared by every entity of a durable namespace.
#[derive(Clone)]
pub(crate) struct StoreHandle {
    inner: Arc<StoreInner>,
}

struct StoreInner {
    log: Arc<LogShared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Drop for StoreInner {
    fn drop(&mut self) {
        self.log.shut_down();
        let thread = self.thread.get_mut().ok().and_then(Option::take);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

impl StoreHandle {
    /// Opens (or creates) the data directory and recovers its state. Blocking I/O.
    pub fn open(dir: &Path, options: StoreOptions) -> Result<(Self, Recovered), EntityError> {
        let io = |e: std::io::Error| EntityError::Store(format!("{}: {e}", dir.display()));
        let recovery = recovery::recover(dir).map_err(io)?;
        let (log, thread) = log::start(WriterStart {
            dir: dir.to_path_buf(),
            options,
            next_segment: recovery.next_segment,
            sealed: recovery.sealed,
            snapshot: recovery.snapshot,
            snapshot_bytes: recovery.snapshot_bytes,
        })?;
        let handle = Self {
            inner: Arc::new(StoreInner {
                log,
                thread: Mutex::new(Some(thread)),
            }),
        };
        Ok((handle, recovery.state))
    }

    /// Queues a record; returns its log sequence number.
    pub fn append(&self, rec: &Record<'_>) -> u64 {
        self.inner.log.append(rec)
    }

    /// Fails once the log can no longer be written.
    pub fn healthy(&self) -> Result<(), EntityError> {
        self.inner.log.healthy()
    }

    /// Whether `lsn` is durable; if not, `waker` is woken once it is. Fails once the log failed.
    pub fn durable_or_wake(
        &self,
        lsn: u64,
        waker: Option<&std::task::Waker>,
    ) -> Result<bool, EntityError> {
        self.inner.log.durable_or_wake(lsn, waker)
    }

    /// A commit that resolves when `lsn` is durable.
    pub fn commit(&self, lsn: u64) -> Commit {
        Commit::at(self.inner.log.durable.subscribe(), lsn)
    }

    /// A commit covering everything appended so far.
    pub fn commit_all(&self) -> Commit {
        self.commit(self.inner.log.last_lsn())
    }

    /// Compacts everything written so far; resolves when done.
    pub async fn compact(&self) -> Result<(), EntityError> {
        self.commit_all().wait().await?;
        let rx = self.inner.log.request_compaction();
        rx.await
            .unwrap_or_else(|_| Err(EntityError::Store("the log writer stopped".into())))
    }
}
