//! Polling with a deadline, for conditions with no event to wait on (a queue drained, a
//! process exited, a proxy's counters): a regression fails the test naming what it waited
//! for and what it last saw, instead of hanging it.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How often [`poll`] looks again.
const EVERY: Duration = Duration::from_millis(10);

/// Calls `probe` until it returns `Ok`, for at most `limit`, sleeping briefly between
/// looks; panics naming `what` and the last `Err` it returned when the limit passes first.
pub fn poll<T, S: Debug>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> Result<T, S>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match probe() {
            Ok(value) => return value,
            Err(seen) if Instant::now() >= deadline => {
                panic!("waited {limit:?} for {what}, in vain; last saw {seen:#?}")
            }
            Err(_) => std::thread::sleep(EVERY),
        }
    }
}

/// [`poll`] for a condition: until `done` holds, showing `seen()` when it never does.
pub fn poll_until<S: Debug>(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
    mut seen: impl FnMut() -> S,
) {
    poll(what, limit, || if done() { Ok(()) } else { Err(seen()) });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_what_the_probe_gives_once_it_is_ready() {
        let mut looks = 0;
        let value = poll("the third look", Duration::from_secs(10), || {
            looks += 1;
            if looks == 3 {
                Ok(looks)
            } else {
                Err(looks)
            }
        });
        assert_eq!(value, 3);
    }

    #[test]
    #[should_panic(expected = "waited 50ms for a miracle, in vain; last saw \"nothing\"")]
    fn fails_naming_what_it_waited_for_and_what_it_saw() {
        poll_until(
            "a miracle",
            Duration::from_millis(50),
            || false,
            || "nothing",
        );
    }
}
