//! CPU time and memory of a process, read from `/proc/<pid>` (Linux).

use std::time::Duration;

/// CPU time and memory of a process so far.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Usage {
    /// User + system CPU time.
    pub(crate) cpu: Duration,
    /// Resident memory now.
    pub(crate) rss_kib: u64,
    /// Peak resident memory.
    pub(crate) peak_rss_kib: u64,
}

/// The usage of process `pid`.
pub(crate) fn of(pid: u32) -> Result<Usage, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("cannot read the CPU time of process {pid}: {e}"))?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let clock_ticks = 100; // USER_HZ on Linux
    let cpu_ticks = ticks(11) + ticks(12);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("cannot read the memory of process {pid}: {e}"))?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok(Usage {
        cpu: Duration::from_millis(cpu_ticks * 1000 / clock_ticks),
        rss_kib: kib("VmRSS:"),
        peak_rss_kib: kib("VmHWM:"),
    })
}

/// The usage of this process.
pub(crate) fn own() -> Result<Usage, String> {
    of(std::process::id())
}
