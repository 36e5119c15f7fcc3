//! Acknowledging only what is on disk: actions (settling a transfer, echoing a disposition,
//! sending a reply) wait for their [`Commit`]. In memory, commits are ready at once and the
//! action runs immediately; for a durable namespace one task per connection awaits commits in
//! log order and hands the finished actions back through `on_wake`.

use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;

use crate::amqp::ConnectionWaker;
use crate::entity::EntityError;
use crate::store::Commit;

/// Actions whose commits finished, with the outcome of waiting.
type Finished<A> = Arc<Mutex<Vec<(A, Result<(), EntityError>)>>>;

/// Runs `A`s once their commits are durable.
#[derive(Debug)]
pub struct Durable<A> {
    queue: Option<mpsc::UnboundedSender<(Commit, A)>>,
    done: Finished<A>,
    waker: ConnectionWaker,
}

impl<A: Send + 'static> Durable<A> {
    /// Nothing pending; the waiting task starts with the first non-ready commit.
    pub fn new(waker: ConnectionWaker) -> Self {
        Self {
            queue: None,
            done: Arc::default(),
            waker,
        }
    }

    /// Returns `action` if `commit` is durable already; otherwise keeps it until it is (then
    /// [`Durable::take_done`] yields it from `on_wake`).
    pub fn after(&mut self, commit: Commit, action: A) -> Option<A> {
        if commit.is_durable() {
            return Some(action);
        }
        let queue = self.queue.get_or_insert_with(|| {
            let (tx, mut rx) = mpsc::unbounded_channel::<(Commit, A)>();
            let done = self.done.clone();
            let waker = self.waker.clone();
            tokio::spawn(async move {
                while let Some((commit, action)) = rx.recv().await {
                    let outcome = commit.wait().await;
                    done.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((action, outcome));
                    waker.wake();
                }
            });
            tx
        });
        if let Err(mpsc::error::SendError((_, action))) = queue.send((commit, action)) {
            // The task is gone (runtime shutting down): act now rather than never.
            return Some(action);
        }
        None
    }

    /// The actions whose commits finished (successfully or not) since the last call.
    pub fn take_done(&self) -> Vec<(A, Result<(), EntityError>)> {
        std::mem::take(&mut *self.done.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
