//! Readiness: what `/readyz` answers. Each Service Bus client keeps a [`ConnectionProbe`]
//! (connecting, connected, lost, reconnecting), each trigger's receiver a [`ReceiverProbe`]
//! (starting, live, failed); [`Readiness`] lists the triggers of the host and tells whether
//! all of them are ready, or why not, one line per trigger.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use prometheus_client::metrics::counter::Counter;

use super::metrics::TriggerMetrics;

/// Where one connection stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ConnectionState {
    Connecting,
    Connected,
    Lost,
    Reconnecting { attempt: u32, error: String },
    Closed,
}

/// What a Service Bus client reports about its connection.
#[derive(Debug)]
pub struct ConnectionProbe {
    /// The state, and how many connections were opened so far (which one is current).
    state: Mutex<(ConnectionState, u64)>,
    reconnects: OnceLock<Counter>,
}

impl Default for ConnectionProbe {
    fn default() -> Self {
        ConnectionProbe {
            state: Mutex::new((ConnectionState::Connecting, 0)),
            reconnects: OnceLock::new(),
        }
    }
}

impl ConnectionProbe {
    /// Counts re-established connections with `counter` from now on (the first call wins).
    pub fn count_reconnects(&self, counter: Counter) {
        let _ = self.reconnects.set(counter);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, (ConnectionState, u64)> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A connection is open; counted as a reconnect unless it is the first. Returns its
    /// number, for [`Self::lost`].
    pub(crate) fn connected(&self) -> u64 {
        let mut current = self.lock();
        let first = current.1 == 0;
        current.0 = ConnectionState::Connected;
        current.1 += 1;
        if !first {
            if let Some(counter) = self.reconnects.get() {
                counter.inc();
            }
        }
        current.1
    }

    /// The connection numbered `connection` (`None`: the current one) went away; a later
    /// one is not affected.
    pub(crate) fn lost(&self, connection: Option<u64>) {
        let mut current = self.lock();
        if current.0 == ConnectionState::Connected && connection.is_none_or(|n| n == current.1) {
            current.0 = ConnectionState::Lost;
        }
    }

    /// Connecting failed `attempt` times in a row, the last time with `error`.
    pub(crate) fn reconnecting(&self, attempt: u32, error: &dyn fmt::Display) {
        let mut current = self.lock();
        if current.0 != ConnectionState::Closed {
            current.0 = ConnectionState::Reconnecting {
                attempt,
                error: error.to_string(),
            };
        }
    }

    /// The client was closed.
    pub(crate) fn closed(&self) {
        self.lock().0 = ConnectionState::Closed;
    }

    /// `Ok` when connected, else why not.
    pub fn status(&self) -> Result<(), String> {
        let current = self.lock();
        match &current.0 {
            ConnectionState::Connected => Ok(()),
            ConnectionState::Connecting => Err("not connected (connecting)".to_owned()),
            ConnectionState::Lost => Err("not connected (connection lost)".to_owned()),
            // Never connected yet (the broker was unreachable at start-up).
            ConnectionState::Reconnecting { attempt, error } if current.1 == 0 => Err(format!(
                "not connected (connecting, attempt {attempt} failed: {error})"
            )),
            ConnectionState::Reconnecting { attempt, error } => Err(format!(
                "not connected (reconnecting, attempt {attempt}: {error})"
            )),
            ConnectionState::Closed => Err("not connected (closed)".to_owned()),
        }
    }
}

/// Where one receiver stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ReceiverState {
    Starting,
    Live,
    Failed(String),
}

/// What a trigger's receiver reports: whether it is live, and (once
/// [`counting`](Self::count_with)) the metrics only it sees: messages it holds that no
/// handler has started on, message lock renewals.
#[derive(Debug)]
pub struct ReceiverProbe {
    connection: Arc<ConnectionProbe>,
    state: Mutex<ReceiverState>,
    metrics: OnceLock<TriggerMetrics>,
}

impl ReceiverProbe {
    /// A probe for a receiver on the connection `connection` reports on.
    pub fn new(connection: Arc<ConnectionProbe>) -> Self {
        ReceiverProbe {
            connection,
            state: Mutex::new(ReceiverState::Starting),
            metrics: OnceLock::new(),
        }
    }

    /// Counts what the receiver sees with `metrics` from now on (the first call wins).
    pub fn count_with(&self, metrics: TriggerMetrics) {
        let _ = self.metrics.set(metrics);
    }

    /// The trigger's metric handles, once attached.
    pub(crate) fn metrics(&self) -> Option<&TriggerMetrics> {
        self.metrics.get()
    }

    fn set(&self, state: ReceiverState) {
        *self.state.lock().unwrap_or_else(PoisonError::into_inner) = state;
    }

    /// The receiver is attached (or its accept is pending at the broker).
    pub(crate) fn live(&self) {
        self.set(ReceiverState::Live);
    }

    /// Attaching or receiving failed with `error`; it will be tried again.
    pub(crate) fn failed(&self, error: &dyn fmt::Display) {
        self.set(ReceiverState::Failed(error.to_string()));
    }

    /// `Ok` when connected and live, else why not: the connection's state, and the
    /// receiver's last failure too when there is one (a broker that refuses the credentials
    /// may also close the connection; the refusal is the reason worth reading).
    pub fn status(&self) -> Result<(), String> {
        let receiver = match &*self.state.lock().unwrap_or_else(PoisonError::into_inner) {
            ReceiverState::Live => Ok(()),
            ReceiverState::Starting => Err(None),
            ReceiverState::Failed(error) => Err(Some(format!("receiver not live ({error})"))),
        };
        match (self.connection.status(), receiver) {
            (Ok(()), Ok(())) => Ok(()),
            (Ok(()), Err(None)) => Err("receiver not attached yet".to_owned()),
            (Err(connection), Err(Some(receiver))) => Err(format!("{connection}; {receiver}")),
            (Err(why), _) | (Ok(()), Err(Some(why))) => Err(why),
        }
    }
}

#[derive(Default)]
struct Watched {
    triggers: Mutex<Vec<(Arc<str>, Arc<ReceiverProbe>)>>,
    draining: AtomicBool,
}

/// The host's triggers, for `/readyz`. Cheap to clone; clones share the list.
#[derive(Clone, Default)]
pub struct Readiness(Arc<Watched>);

impl Readiness {
    /// No triggers yet (not ready: a host without triggers serves nothing).
    pub fn new() -> Self {
        Readiness::default()
    }

    /// Adds the trigger `name` whose receiver reports through `probe`.
    pub fn watch(&self, name: Arc<str>, probe: Arc<ReceiverProbe>) {
        self.0
            .triggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((name, probe));
    }

    /// The host is shutting down: not ready from now on.
    pub fn drain(&self) {
        self.0.draining.store(true, Ordering::Relaxed);
    }

    /// `Ok` when every trigger is connected and live; else one line per trigger that is
    /// not (`name: reason`), or `draining`.
    pub fn check(&self) -> Result<(), Vec<String>> {
        if self.0.draining.load(Ordering::Relaxed) {
            return Err(vec!["draining".to_owned()]);
        }
        let triggers = self
            .0
            .triggers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if triggers.is_empty() {
            return Err(vec!["no triggers started yet".to_owned()]);
        }
        let reasons: Vec<String> = triggers
            .iter()
            .filter_map(|(name, probe)| probe.status().err().map(|why| format!("{name}: {why}")))
            .collect();
        if reasons.is_empty() {
            Ok(())
        } else {
            Err(reasons)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_trigger_is_connected_and_live() {
        let connection = Arc::new(ConnectionProbe::default());
        let counter = Counter::default();
        connection.count_reconnects(counter.clone());
        let probe = Arc::new(ReceiverProbe::new(connection.clone()));
        let readiness = Readiness::new();
        assert_eq!(
            readiness.check(),
            Err(vec!["no triggers started yet".to_owned()])
        );
        readiness.watch("orders".into(), probe.clone());
        assert_eq!(
            readiness.check(),
            Err(vec!["orders: not connected (connecting)".to_owned()])
        );
        connection.reconnecting(2, &"refused");
        assert_eq!(
            readiness.check(),
            Err(vec![
                "orders: not connected (connecting, attempt 2 failed: refused)".to_owned()
            ])
        );
        assert_eq!(connection.connected(), 1);
        assert_eq!(
            readiness.check(),
            Err(vec!["orders: receiver not attached yet".to_owned()])
        );
        probe.live();
        assert_eq!(readiness.check(), Ok(()));
        assert_eq!(counter.get(), 0, "the first connection is no reconnect");
        connection.lost(Some(0));
        assert_eq!(
            readiness.check(),
            Ok(()),
            "an older connection's loss is ignored"
        );
        connection.lost(None);
        connection.reconnecting(3, &"refused");
        assert_eq!(
            readiness.check(),
            Err(vec![
                "orders: not connected (reconnecting, attempt 3: refused)".to_owned()
            ])
        );
        connection.connected();
        assert_eq!(counter.get(), 1);
        probe.failed(&"link detached");
        assert_eq!(
            readiness.check(),
            Err(vec!["orders: receiver not live (link detached)".to_owned()])
        );
        connection.lost(None);
        assert_eq!(
            readiness.check(),
            Err(vec![
                "orders: not connected (connection lost); receiver not live (link detached)"
                    .to_owned()
            ])
        );
        connection.connected();
        probe.live();
        readiness.drain();
        assert_eq!(readiness.check(), Err(vec!["draining".to_owned()]));
    }
}
