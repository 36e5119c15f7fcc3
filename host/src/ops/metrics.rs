//! The host's Prometheus metrics ([`prometheus_client`]): one [`Metrics`] registry per host,
//! and label-resolved handles for the hot path. A pump never looks a label set up per
//! message: [`FunctionMetrics`] and [`TriggerMetrics`] hold the counters of one function
//! (or one receiver) resolved once, at start-up, and cloning them is one reference count.
//!
//! Handles made with `Default` are detached: they count, but nothing exposes them (what the
//! runtime uses when no [`Metrics`] is attached, e.g. in tests of the pumps alone).

use std::sync::Arc;
use std::time::Duration;

use berth::Settlement;
use prometheus_client::encoding::text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// One label.
type Labels1 = [(&'static str, String); 1];
/// Two labels.
type Labels2 = [(&'static str, String); 2];
type HistogramFamily = Family<Labels1, Histogram, fn() -> Histogram>;

/// The invocation outcomes, as labelled (the names the logs use), in
/// [`InvocationOutcome`]'s order.
const OUTCOMES: [&str; 5] = ["ok", "settled", "error", "panic", "rejected"];

/// How a handler run ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationOutcome {
    /// Returned normally.
    Ok = 0,
    /// Returned a settlement.
    Settled = 1,
    /// Returned an error.
    Error = 2,
    /// Panicked.
    Panic = 3,
    /// An extractor refused the message.
    Rejected = 4,
}
/// The settlement kinds, as labelled.
const SETTLEMENTS: [&str; 4] = ["completed", "abandoned", "dead_lettered", "deferred"];

/// The handler duration buckets, in seconds: 1 ms to 1 min.
fn duration_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ])
}

/// The families, registered once.
struct Families {
    invocations: Family<Labels2, Counter>,
    duration: HistogramFamily,
    settled: Family<Labels2, Counter>,
    sessions_accepted: Family<Labels1, Counter>,
    sessions_released: Family<Labels1, Counter>,
    sessions_active: Family<Labels1, Gauge>,
    lock_renewals: Family<Labels1, Counter>,
    lock_losses: Family<Labels1, Counter>,
    prefetched: Family<Labels1, Gauge>,
    reconnects: Family<Labels1, Counter>,
}

/// The metrics registry of one host. Cheap to clone; clones share it.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    families: Arc<Families>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A registry with every `berth_…` family (empty until handles are resolved).
    pub fn new() -> Self {
        let families = Families {
            invocations: Family::default(),
            duration: Family::new_with_constructor(duration_histogram),
            settled: Family::default(),
            sessions_accepted: Family::default(),
            sessions_released: Family::default(),
            sessions_active: Family::default(),
            lock_renewals: Family::default(),
            lock_losses: Family::default(),
            prefetched: Family::default(),
            reconnects: Family::default(),
        };
        let mut r = Registry::default();
        let f = &families;
        r.register(
            "berth_invocations",
            "Handler runs by function and outcome (ok, settled, error, panic, rejected); retries count once each",
            f.invocations.clone(),
        );
        r.register_with_unit(
            "berth_handler_duration",
            "How long handler runs took, by function",
            Unit::Seconds,
            f.duration.clone(),
        );
        r.register(
            "berth_messages_settled",
            "Messages settled by function and settlement (completed, abandoned, dead_lettered, deferred), by the host or the handler",
            f.settled.clone(),
        );
        r.register(
            "berth_sessions_accepted",
            "Sessions accepted, by function",
            f.sessions_accepted.clone(),
        );
        r.register(
            "berth_sessions_released",
            "Sessions released (idle, rotated, shut down or after a broker error), by function",
            f.sessions_released.clone(),
        );
        r.register(
            "berth_sessions_active",
            "Sessions held now, by function",
            f.sessions_active.clone(),
        );
        r.register(
            "berth_lock_renewals",
            "Session and message lock renewals that succeeded, by function",
            f.lock_renewals.clone(),
        );
        r.register(
            "berth_lock_losses",
            "Session or message locks lost before the work was settled, by function",
            f.lock_losses.clone(),
        );
        r.register(
            "berth_prefetched_messages",
            "Messages received from the broker and held by the host that no handler has started on, by function",
            f.prefetched.clone(),
        );
        r.register(
            "berth_reconnects",
            "Connections to Service Bus re-established after one was lost, by connection setting",
            f.reconnects.clone(),
        );
        Metrics {
            registry: Arc::new(r),
            families: Arc::new(families),
        }
    }

    /// The handles of one function, labelled `function="<name>"`.
    pub fn function(&self, name: &str) -> FunctionMetrics {
        let f = &self.families;
        let two = |key, value: &str| [("function", name.to_owned()), (key, value.to_owned())];
        FunctionMetrics(Arc::new(FunctionHandles {
            invocations: OUTCOMES.map(|o| f.invocations.get_or_create_owned(&two("outcome", o))),
            duration: f
                .duration
                .get_or_create_owned(&[("function", name.to_owned())]),
            settled: SettledCounters(
                SETTLEMENTS.map(|s| f.settled.get_or_create_owned(&two("settlement", s))),
            ),
        }))
    }

    /// The handles of one receiver (an entity group), labelled `function="<name>"`.
    pub fn trigger(&self, name: &str) -> TriggerMetrics {
        let f = &self.families;
        let label = [("function", name.to_owned())];
        let two = |s: &str| [("function", name.to_owned()), ("settlement", s.to_owned())];
        TriggerMetrics(Arc::new(TriggerHandles {
            sessions_accepted: f.sessions_accepted.get_or_create_owned(&label),
            sessions_released: f.sessions_released.get_or_create_owned(&label),
            sessions_active: f.sessions_active.get_or_create_owned(&label),
            lock_renewals: f.lock_renewals.get_or_create_owned(&label),
            lock_losses: f.lock_losses.get_or_create_owned(&label),
            prefetched: f.prefetched.get_or_create_owned(&label),
            unrouted: SettledCounters(SETTLEMENTS.map(|s| f.settled.get_or_create_owned(&two(s)))),
        }))
    }

    /// The reconnect counter of one connection, labelled `connection="<setting>"`.
    pub fn reconnects(&self, setting: &str) -> Counter {
        self.families
            .reconnects
            .get_or_create_owned(&[("connection", setting.to_owned())])
    }

    /// Writes every metric in the OpenMetrics text format (what Prometheus scrapes).
    pub fn encode(&self, out: &mut String) -> std::fmt::Result {
        text::encode(out, &self.registry)
    }
}

/// Which way a message was settled, noted before the settlement is handed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SettlementKind(usize);

impl From<&Settlement> for SettlementKind {
    fn from(settlement: &Settlement) -> Self {
        SettlementKind(match settlement {
            Settlement::Complete => 0,
            Settlement::Abandon { .. } => 1,
            Settlement::DeadLetter { .. } => 2,
            Settlement::Defer { .. } => 3,
        })
    }
}

/// Counters by settlement kind.
#[derive(Debug, Default)]
struct SettledCounters([Counter; 4]);

impl SettledCounters {
    fn count(&self, kind: SettlementKind) {
        self.0[kind.0].inc();
    }
}

#[derive(Debug)]
struct FunctionHandles {
    invocations: [Counter; 5],
    duration: Histogram,
    settled: SettledCounters,
}

impl Default for FunctionHandles {
    fn default() -> Self {
        FunctionHandles {
            invocations: Default::default(),
            duration: duration_histogram(),
            settled: SettledCounters::default(),
        }
    }
}

/// The metric handles of one function, resolved once.
#[derive(Debug, Clone, Default)]
pub struct FunctionMetrics(Arc<FunctionHandles>);

impl FunctionMetrics {
    /// Counts one handler run and its duration.
    pub fn invoked(&self, outcome: InvocationOutcome, elapsed: Duration) {
        self.0.invocations[outcome as usize].inc();
        self.0.duration.observe(elapsed.as_secs_f64());
    }

    /// Counts a settlement the broker took.
    pub fn settled(&self, kind: SettlementKind) {
        self.0.settled.count(kind);
    }
}

#[derive(Debug, Default)]
struct TriggerHandles {
    sessions_accepted: Counter,
    sessions_released: Counter,
    sessions_active: Gauge,
    lock_renewals: Counter,
    lock_losses: Counter,
    prefetched: Gauge,
    /// Messages no function of a routed group takes.
    unrouted: SettledCounters,
}

/// The metric handles of one receiver (an entity group), resolved once.
#[derive(Debug, Clone, Default)]
pub struct TriggerMetrics(Arc<TriggerHandles>);

impl TriggerMetrics {
    /// A session was accepted (and is now held).
    pub fn session_accepted(&self) {
        self.0.sessions_accepted.inc();
        self.0.sessions_active.inc();
    }

    /// A held session ended: released, or its lock was lost.
    pub fn session_ended(&self, lock_lost: bool) {
        self.0.sessions_active.dec();
        if lock_lost {
            self.0.lock_losses.inc();
        } else {
            self.0.sessions_released.inc();
        }
    }

    /// A lock renewal succeeded (`n` message locks, or one session lock).
    pub fn lock_renewed(&self, n: u64) {
        self.0.lock_renewals.inc_by(n);
    }

    /// A lock was lost.
    pub fn lock_lost(&self) {
        self.0.lock_losses.inc();
    }

    /// The gauge of messages held unprocessed (the receiver keeps it).
    pub fn prefetched(&self) -> &Gauge {
        &self.0.prefetched
    }

    /// Counts the settlement of a message no function takes.
    pub fn unrouted_settled(&self, kind: SettlementKind) {
        self.0.unrouted.count(kind);
    }
}

/// The handles an entity group's pumps use: the receiver's, and each function's.
#[derive(Debug, Clone, Default)]
pub struct GroupMetrics {
    /// The receiver's.
    pub trigger: TriggerMetrics,
    functions: Vec<(Arc<str>, FunctionMetrics)>,
    detached: FunctionMetrics,
}

impl GroupMetrics {
    /// The handles of a group named `name` with these functions, from `metrics`.
    pub fn resolve<'a>(
        metrics: &Metrics,
        name: &str,
        functions: impl IntoIterator<Item = &'a Arc<str>>,
    ) -> Self {
        GroupMetrics {
            trigger: metrics.trigger(name),
            functions: functions
                .into_iter()
                .map(|f| (f.clone(), metrics.function(f)))
                .collect(),
            detached: FunctionMetrics::default(),
        }
    }

    /// The handles of the function named `name` (detached ones if it is not in the group).
    pub fn function(&self, name: &Arc<str>) -> &FunctionMetrics {
        self.functions
            .iter()
            .find(|(f, _)| Arc::ptr_eq(f, name) || f == name)
            .map_or(&self.detached, |(_, m)| m)
    }
}
