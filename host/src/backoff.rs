//! How long to wait before trying again after a failure: exponential backoff with jitter,
//! shared by whatever retries the broker (the accept loop, a non-session trigger's receive
//! loop, the client's reconnects).

use std::time::Duration;

/// Exponential backoff with jitter: 100 ms doubling up to 30 s (each delay is between half
/// and all of that step).
#[derive(Debug, Default)]
pub struct Backoff {
    attempt: u32,
}

impl Backoff {
    /// Starts over at the first step.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Failures in a row so far (the delays handed out since the last reset).
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// The wait before the next try; counts one more failure.
    pub fn next_delay(&mut self) -> Duration {
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
}
