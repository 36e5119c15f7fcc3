//! Segment files: names, listing, framing, and reading frames back.
//!
//! A data directory holds `log-<n>.seg` files (appended in order, `n` increasing) and at most
//! one live `snap-<n>.seg`, the compacted state of everything up to and including log `n`.
//! `*.tmp` files are compactions that did not finish and are deleted on open.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::crc::crc32;
use super::record::{Record, FRAME_HEADER};

/// The path of log segment `n`.
pub(crate) fn log_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("log-{n:016x}.seg"))
}

/// The path of the snapshot covering logs up to `n`.
pub(crate) fn snapshot_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("snap-{n:016x}.seg"))
}

/// The temporary path a snapshot is written to before it is renamed into place.
pub(crate) fn snapshot_tmp_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("snap-{n:016x}.tmp"))
}

/// What a data directory holds.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Log segment numbers, ascending.
    pub logs: Vec<u64>,
    /// Snapshot numbers, ascending.
    pub snapshots: Vec<u64>,
    /// Unfinished snapshot files.
    pub temps: Vec<PathBuf>,
}

/// Lists the segment files in `dir`.
pub(crate) fn list(dir: &Path) -> io::Result<Listing> {
    let mut out = Listing::default();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".tmp") {
            out.temps.push(entry.path());
        } else if let Some(n) = number(name, "log-") {
            out.logs.push(n);
        } else if let Some(n) = number(name, "snap-") {
            out.snapshots.push(n);
        }
    }
    out.logs.sort_unstable();
    out.snapshots.sort_unstable();
    Ok(out)
}

fn number(name: &str, prefix: &str) -> Option<u64> {
    let hex = name.strip_prefix(prefix)?.strip_suffix(".seg")?;
    u64::from_str_radix(hex, 16).ok()
}

/// Makes renames and new files in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Appends `rec` to `buf` as one frame.
pub(crate) fn frame(buf: &mut Vec<u8>, rec: &Record<'_>) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; FRAME_HEADER]);
    rec.encode(buf);
    let payload = &buf[start + FRAME_HEADER..];
    let len = payload.len() as u32;
    let crc = crc32(payload);
    buf[start..start + 4].copy_from_slice(&len.to_le_bytes());
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// The frames of a segment: yields payloads until the data ends or a frame is torn.
pub(crate) struct Frames<'a> {
    data: &'a [u8],
    offset: usize,
    torn: bool,
}

impl<'a> Frames<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self {
            data,
            offset: 0,
            torn: false,
        }
    }

    /// Bytes of whole, checked frames read so far.
    pub fn valid_len(&self) -> usize {
        self.offset
    }

    /// Whether reading stopped at a torn or corrupt frame.
    pub fn is_torn(&self) -> bool {
        self.torn
    }
}

impl<'a> Iterator for Frames<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.torn {
            return None;
        }
        let rest = &self.data[self.offset..];
        if rest.is_empty() {
            return None;
        }
        let whole = (|| {
            let header = rest.get(..FRAME_HEADER)?;
            let len = u32::from_le_bytes(header[..4].try_into().ok()?) as usize;
            let crc = u32::from_le_bytes(header[4..8].try_into().ok()?);
            let payload = rest.get(FRAME_HEADER..FRAME_HEADER.checked_add(len)?)?;
            (crc32(payload) == crc).then_some(payload)
        })();
        match whole {
            Some(payload) => {
                self.offset += FRAME_HEADER + payload.len();
                Some(payload)
            }
            None => {
                self.torn = true;
                None
            }
        }
    }
}
