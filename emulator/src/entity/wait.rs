//! The two loops every receiving handle shares: waiting on a `try_*` call, and taking a batch.

use std::future::poll_fn;
use std::task::{Poll, Waker};

use super::{EntityError, ReceivedMessage};

/// Retries `attempt` each time the waker it registered is woken, until it yields a value.
pub(crate) async fn wait_until<T>(
    mut attempt: impl FnMut(&Waker) -> Result<Option<T>, EntityError>,
) -> Result<T, EntityError> {
    poll_fn(|cx| match attempt(cx.waker()) {
        Ok(Some(v)) => Poll::Ready(Ok(v)),
        Ok(None) => Poll::Pending,
        Err(e) => Poll::Ready(Err(e)),
    })
    .await
}

/// Calls `take` up to `max` times, appending to `out`; only the first call registers `waker`.
pub(crate) fn take_many(
    max: usize,
    out: &mut Vec<ReceivedMessage>,
    waker: Option<&Waker>,
    mut take: impl FnMut(Option<&Waker>) -> Result<Option<ReceivedMessage>, EntityError>,
) -> Result<usize, EntityError> {
    let mut n = 0;
    while n < max {
        match take(if n == 0 { waker } else { None })? {
            Some(m) => out.push(m),
            None => break,
        }
        n += 1;
    }
    Ok(n)
}
