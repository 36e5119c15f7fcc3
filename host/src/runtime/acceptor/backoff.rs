//! [`AcceptRetry`], the accept loop's use of [`Backoff`]: it starts over once the broker has
//! shown that accepting works again.
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

use crate::backoff::Backoff;

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
