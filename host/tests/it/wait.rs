//! Waiting in tests, always with a deadline: a regression fails the test naming what it
//! waited for and what it last saw, instead of hanging it. Await an event where there is
//! one ([`within`]); poll where there is none ([`poll`], [`poll_until`], and
//! [`poll_blocking`] for tests that drive processes from a plain thread).

use std::fmt::Debug;
use std::future::{ready, Future};
use std::time::{Duration, Instant};

/// How long a test waits for something that should happen "soon" on a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(30);

/// How often a poll looks again.
const EVERY: Duration = Duration::from_millis(50);

/// Awaits `future` for at most `limit`; panics naming `what` when the limit passes first.
pub async fn within<T>(what: &str, limit: Duration, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("waited {limit:?} for {what}, in vain"))
}

/// Awaits `probe()` every 50 ms until it gives `Ok`, for at most `limit`; panics naming
/// `what` and the last `Err` it gave when the limit passes first.
pub async fn poll<T, S: Debug, F: Future<Output = Result<T, S>>>(
    what: &str,
    limit: Duration,
    mut probe: impl FnMut() -> F,
) -> T {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match probe().await {
            Ok(value) => return value,
            Err(seen) if tokio::time::Instant::now() >= deadline => {
                panic!("waited {limit:?} for {what}, in vain; last saw {seen:#?}")
            }
            Err(_) => tokio::time::sleep(EVERY).await,
        }
    }
}

/// [`poll`] for a condition: until `done` holds, showing `seen()` when it never does.
pub async fn poll_until<S: Debug>(
    what: &str,
    limit: Duration,
    mut done: impl FnMut() -> bool,
    mut seen: impl FnMut() -> S,
) {
    poll(what, limit, || {
        ready(if done() { Ok(()) } else { Err(seen()) })
    })
    .await;
}

/// [`poll`] on a plain thread (blocking it between looks).
pub fn poll_blocking<T, S: Debug>(
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
