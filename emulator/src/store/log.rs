//! The log writer: one thread that appends batches of framed records and `fdatasync`s them
//! (group commit), rolls segments, and starts compactions.
//!
//! Callers frame their record straight into the shared pending buffer under a short lock and
//! get a log sequence number (LSN); the writer swaps the buffer out, writes and syncs it while
//! the next batch fills, then publishes the highest durable LSN on a `watch` channel.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::Waker;
use std::thread::JoinHandle;

use tokio::sync::{oneshot, watch};

use super::commit::Durability;
use super::compaction::compact;
use super::record::Record;
use super::segment::{frame, log_path, sync_dir};
use super::StoreOptions;
use crate::entity::EntityError;

/// State shared between callers and the writer thread.
pub(crate) struct LogShared {
    pending: Mutex<Pending>,
    wake: Condvar,
    pub(crate) durable: watch::Sender<Durability>,
    /// Tasks waiting for an LSN to become durable (see [`LogShared::durable_or_wake`]).
    durable_waiters: Mutex<Vec<(u64, Waker)>>,
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    last_lsn: u64,
    shutdown: bool,
    failed: Option<Arc<str>>,
    compact_requests: Vec<oneshot::Sender<Result<(), EntityError>>>,
    compaction_done: bool,
}

impl LogShared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Frames `rec` into the pending batch; returns its LSN.
    pub fn append(&self, rec: &Record<'_>) -> u64 {
        let mut p = self.lock();
        let was_empty = p.buf.is_empty();
        frame(&mut p.buf, rec);
        p.last_lsn += 1;
        let lsn = p.last_lsn;
        drop(p);
        if was_empty {
            self.wake.notify_one();
        }
        lsn
    }

    /// Fails if the log can no longer be written.
    pub fn healthy(&self) -> Result<(), EntityError> {
        match &self.lock().failed {
            Some(why) => Err(EntityError::Store(why.to_string())),
            None => Ok(()),
        }
    }

    /// Whether `lsn` is durable; if not, `waker` (when given) is woken once it is. A waker that
    /// would wake the same task is kept once, for the lowest LSN asked: the task checks again
    /// when woken. Fails once the log failed (the LSN will never be durable).
    pub fn durable_or_wake(&self, lsn: u64, waker: Option<&Waker>) -> Result<bool, EntityError> {
        let mut waiters = self
            .durable_waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Checked under the waiters' lock: the writer publishes before it takes that lock.
        let d = self.durable.borrow();
        if d.lsn >= lsn {
            return Ok(true);
        }
        if let Some(why) = &d.failed {
            return Err(EntityError::Store(why.to_string()));
        }
        drop(d);
        if let Some(waker) = waker {
            match waiters.iter_mut().find(|(_, w)| w.will_wake(waker)) {
                Some(entry) => entry.0 = entry.0.min(lsn),
                None => waiters.push((lsn, waker.clone())),
            }
        }
        Ok(false)
    }

    /// Wakes the tasks waiting for an LSN up to `lsn` (every one with `u64::MAX`).
    fn wake_durable(&self, lsn: u64) {
        let woken: Vec<Waker> = {
            let mut waiters = self
                .durable_waiters
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if waiters.is_empty() {
                return;
            }
            let (due, wait): (Vec<_>, Vec<_>) = waiters.drain(..).partition(|(l, _)| *l <= lsn);
            *waiters = wait;
            due.into_iter().map(|(_, w)| w).collect()
        };
        for w in woken {
            w.wake();
        }
    }

    /// The LSN of the last appended record.
    pub fn last_lsn(&self) -> u64 {
        self.lock().last_lsn
    }

    /// Asks for a compaction of everything written so far; the receiver answers when done.
    pub fn request_compaction(&self) -> oneshot::Receiver<Result<(), EntityError>> {
        let (tx, rx) = oneshot::channel();
        self.lock().compact_requests.push(tx);
        self.wake.notify_one();
        rx
    }

    /// Tells the writer to finish the pending batch and stop.
    pub fn shut_down(&self) {
        self.lock().shutdown = true;
        self.wake.notify_one();
    }
}

/// Where the writer starts after recovery.
pub(crate) struct WriterStart {
    pub dir: PathBuf,
    pub options: StoreOptions,
    /// The first new segment number.
    pub next_segment: u64,
    /// Sealed logs after the snapshot: (number, bytes).
    pub sealed: Vec<(u64, u64)>,
    /// The live snapshot, if any.
    pub snapshot: Option<u64>,
    /// The snapshot's size in bytes.
    pub snapshot_bytes: u64,
}

/// Creates the shared state and starts the writer thread.
pub(crate) fn start(start: WriterStart) -> Result<(Arc<LogShared>, JoinHandle<()>), EntityError> {
    let io = |e: std::io::Error| EntityError::Store(format!("{}: {e}", start.dir.display()));
    let path = log_path(&start.dir, start.next_segment);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io)?;
    sync_dir(&start.dir).map_err(io)?;
    let (durable, _) = watch::channel(Durability::default());
    let shared = Arc::new(LogShared {
        pending: Mutex::new(Pending::default()),
        wake: Condvar::new(),
        durable,
        durable_waiters: Mutex::new(Vec::new()),
    });
    let mut writer = Writer {
        shared: shared.clone(),
        file,
        segment: start.next_segment,
        segment_bytes: 0,
        sealed: start.sealed,
        snapshot: start.snapshot,
        snapshot_bytes: start.snapshot_bytes,
        options: start.options,
        dir: start.dir,
        compaction: None,
    };
    let thread = std::thread::Builder::new()
        .name("berth-store-log".into())
        .spawn(move || writer.run())
        .map_err(|e| EntityError::Store(format!("cannot start the log writer: {e}")))?;
    Ok((shared, thread))
}

struct Compaction {
    thread: JoinHandle<Result<u64, String>>,
    covers: u64,
    waiters: Vec<oneshot::Sender<Result<(), EntityError>>>,
}

struct Writer {
    shared: Arc<LogShared>,
    dir: PathBuf,
    options: StoreOptions,
    file: File,
    segment: u64,
    segment_bytes: u64,
    sealed: Vec<(u64, u64)>,
    snapshot: Option<u64>,
    snapshot_bytes: u64,
    compaction: Option<Compaction>,
}

impl Writer {
    fn run(&mut self) {
        let mut batch = Vec::new();
        loop {
            let (lsn, shutdown, requests, compaction_done) = {
                let mut p = self.shared.lock();
                while p.buf.is_empty()
                    && !p.shutdown
                    && p.compact_requests.is_empty()
                    && !p.compaction_done
                {
                    p = self.shared.wake.wait(p).unwrap_or_else(|e| e.into_inner());
                }
                std::mem::swap(&mut p.buf, &mut batch);
                let done = std::mem::take(&mut p.compaction_done);
                (
                    p.last_lsn,
                    p.shutdown,
                    std::mem::take(&mut p.compact_requests),
                    done,
                )
            };
            if !batch.is_empty() {
                self.write(&batch, lsn);
                batch.clear();
                if batch.capacity() > 64 << 20 {
                    batch = Vec::new();
                }
            }
            if compaction_done {
                self.finish_compaction();
            }
            let wanted = !requests.is_empty() || self.compaction_due();
            if wanted || self.segment_bytes >= self.options.segment_bytes {
                self.roll();
            }
            if wanted {
                self.start_compaction(requests);
            }
            if shutdown && self.shared.lock().buf.is_empty() {
                if let Some(c) = self.compaction.take() {
                    let _ = c.thread.join();
                }
                return;
            }
        }
    }

    fn fail(&self, why: String) {
        tracing::error!(error = %why, "durable store failed; sends will be refused");
        let why: Arc<str> = why.into();
        self.shared.lock().failed = Some(why.clone());
        self.shared.durable.send_modify(|d| d.failed = Some(why));
        self.shared.wake_durable(u64::MAX);
    }

    fn write(&mut self, batch: &[u8], lsn: u64) {
        if self.shared.durable.borrow().failed.is_some() {
            return;
        }
        if !self.options.write_delay.is_zero() {
            std::thread::sleep(self.options.write_delay);
        }
        let result = self
            .file
            .write_all(batch)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.segment_bytes += batch.len() as u64;
                self.shared.durable.send_modify(|d| d.lsn = lsn);
                self.shared.wake_durable(lsn);
            }
            Err(e) => self.fail(format!("writing log segment {}: {e}", self.segment)),
        }
    }

    fn roll(&mut self) {
        if self.segment_bytes == 0 || self.shared.durable.borrow().failed.is_some() {
            return;
        }
        let next = self.segment + 1;
        let opened = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(&self.dir, next))
            .and_then(|f| sync_dir(&self.dir).map(|()| f));
        match opened {
            Ok(file) => {
                self.sealed.push((self.segment, self.segment_bytes));
                self.file = file;
                self.segment = next;
                self.segment_bytes = 0;
            }
            Err(e) => self.fail(format!("opening log segment {next}: {e}")),
        }
    }

    /// Compact when the sealed logs outweigh both a floor and the last snapshot.
    fn compaction_due(&self) -> bool {
        let sealed: u64 = self.sealed.iter().map(|s| s.1).sum();
        self.compaction.is_none()
            && sealed >= self.options.compaction_min_bytes
            && sealed >= self.snapshot_bytes
    }

    fn start_compaction(&mut self, waiters: Vec<oneshot::Sender<Result<(), EntityError>>>) {
        if let Some(running) = &mut self.compaction {
            running.waiters.extend(waiters);
            return;
        }
        let Some(&(covers, _)) = self.sealed.last() else {
            for w in waiters {
                let _ = w.send(Ok(()));
            }
            return;
        };
        let dir = self.dir.clone();
        let snapshot = self.snapshot;
        let logs: Vec<u64> = self.sealed.iter().map(|s| s.0).collect();
        let shared = self.shared.clone();
        let thread = std::thread::Builder::new()
            .name("berth-store-compaction".into())
            .spawn(move || {
                let result = compact(&dir, snapshot, &logs);
                shared.lock().compaction_done = true;
                shared.wake.notify_one();
                result
            });
        match thread {
            Ok(thread) => {
                self.compaction = Some(Compaction {
                    thread,
                    covers,
                    waiters,
                })
            }
            Err(e) => {
                for w in waiters {
                    let _ = w.send(Err(EntityError::Store(format!(
                        "cannot start compaction: {e}"
                    ))));
                }
            }
        }
    }

    fn finish_compaction(&mut self) {
        let Some(c) = self.compaction.take() else {
            return;
        };
        let result = c
            .thread
            .join()
            .unwrap_or_else(|_| Err("the compaction thread panicked".into()));
        let reply = match result {
            Ok(bytes) => {
                self.sealed.retain(|s| s.0 > c.covers);
                self.snapshot = Some(c.covers);
                self.snapshot_bytes = bytes;
                Ok(())
            }
            Err(why) => {
                tracing::warn!(error = %why, "log compaction failed; the log keeps growing");
                Err(EntityError::Store(why))
            }
        };
        for w in c.waiters {
            let _ = w.send(reply.clone());
        }
    }
}
