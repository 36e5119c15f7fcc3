//! Waiting in tests, always with a deadline: a regression fails the test naming what it
//! waited for instead of hanging it. The raw AMQP client reads with it
//! ([`RawClient`](crate::amqp_support::raw::RawClient)), so every frame a test expects is
//! bounded too.

use std::future::Future;
use std::time::Duration;

/// How long a test waits for something that should happen "soon" on a loaded machine.
pub const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `future` for at most [`LIMIT`]; panics naming `what` when the limit passes first.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(LIMIT, future)
        .await
        .unwrap_or_else(|_| panic!("waited {LIMIT:?} for {what}, in vain"))
}
