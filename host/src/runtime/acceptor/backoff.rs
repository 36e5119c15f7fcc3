//! How long to wait before trying again after a failure: [`Backoff`] (exponential, with
//! jitter), and [`AcceptRetry`], the accept loop's use of it, which starts over once the
//! broker has shown that accepting works again.
//!
//! Why "the broker showed it works" and not "a session was accepted" or "a reconnect
//! succeeded": on an idle queue no session comes, so a backoff that only a successful accept
//! resets grows with every connection cut (53 ms → 12.6 s over 8 cuts) and a new message
//! then waits that long after the next reconnect. A reconnect alone proves too little: a
//! wrong key or a deleted entity fails the very next step every time, and those retries must
//! keep slowing down. What counts is the broker answering an accept (a session, or "none
//! yet"), or holding one (connection open, the entity's token accepted, the AMQP session
//! begun, the attach sent and not refused) until the connection dropped; the source counts
//! those ([`SessionSource::working_accepts`](crate::runtime::SessionSource::working_accepts)).
//! Reconnecting itself is paced by the client's own backoff.

use std::time::Duration;

/// Exponential backoff with jitter: 100 ms doubling up to 30 s (each delay is between half
/// and all of that step).
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Starts over at the first step.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures in a row so far (the delays handed out since the last reset).
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next try; counts one more failure.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = 100u64
            .saturating_mul(1u64 << self.attempt.min(9))
            .min(30_000);
        self.attempt = self.attempt.saturating_add(1);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos() as u64)
            .unwrap_or(0);
        let jitter = nanos % (base / 2 + 1);
        Duration::from_millis(base / 2 + jitter)
    }
}

/// The accept loop's retry policy: back off on failures in a row, start over when a session
/// was accepted or the source reports a working accept since the last failure.
#[derive(Debug, Default)]
pub(crate) struct AcceptRetry {
    backoff: Backoff,
    /// The source's count of working accepts at the last failure.
    seen: u64,
}

impl AcceptRetry {
    /// A session was accepted.
    pub(crate) fn accepted(&mut self) {
        self.backoff.reset();
    }

    /// An accept failed; `working` is the source's count of working accepts now. Returns
    /// the failure's number in the current run of failures (1 = the first since accepting
    /// last worked) and the wait before the next try.
    pub(crate) fn failed(&mut self, working: u64) -> (u32, Duration) {
        if working != self.seen {
            self.seen = working;
            self.backoff.reset();
        }
        let delay = self.backoff.next_delay();
        (self.backoff.attempts(), delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_doubles_to_the_cap_and_a_reset_starts_over() {
        let mut backoff = Backoff::default();
        let delays: Vec<Duration> = (0..12).map(|_| backoff.next_delay()).collect();
        for (n, delay) in delays.iter().enumerate() {
            let step = (100u64 << n.min(9)).min(30_000);
            let ms = delay.as_millis() as u64;
            assert!(
                step / 2 <= ms && ms <= step,
                "delay {n}: {ms} ms, step {step}"
            );
        }
        assert_eq!(backoff.attempts(), 12);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn failures_without_a_working_accept_back_off_further() {
        let mut retry = AcceptRetry::default();
        let attempts: Vec<u32> = (0..8).map(|_| retry.failed(0).0).collect();
        assert_eq!(attempts, [1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn a_working_accept_between_failures_starts_the_backoff_over() {
        let mut retry = AcceptRetry::default();
        retry.failed(0);
        retry.failed(0);
        // Eight cuts, each after the broker had held or answered an accept.
        for working in 1..=8 {
            let (attempt, delay) = retry.failed(working);
            assert_eq!(attempt, 1, "cut {working}");
            assert!(
                delay <= Duration::from_millis(100),
                "cut {working}: {delay:?}"
            );
        }
        // A failure that comes with no working accept since counts on.
        assert_eq!(retry.failed(8).0, 2);
        retry.accepted();
        assert_eq!(retry.failed(8).0, 1);
    }
}
