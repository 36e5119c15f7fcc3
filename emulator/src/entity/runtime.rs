//! Runtime properties of queues, topics and subscriptions, as Service Bus's administration
//! clients report them (`QueueRuntimeProperties`, `TopicRuntimeProperties`,
//! `SubscriptionRuntimeProperties` in the .NET, Python and JS SDKs): timestamps, size and
//! message counts. The admin JSON API renders these structs today; the ATOM management API
//! (issue 15) is meant to render the same ones.
//!
//! # Timestamps
//!
//! * `created_at`: when the entity was created.
//! * `updated_at`: when its description last changed (its creation until options can change).
//! * `accessed_at`, as Azure documents it per kind: a queue's last send or receive request, a
//!   topic's last send, a subscription's last receive request. A receive request counts even
//!   when it finds nothing; peeking (browsing) does not. `None` until the first access, which
//!   Azure reports as `0001-01-01T00:00:00Z`.
//!
//! Durable namespaces log the three times (`Record::EntityTimes`) at creation and whenever
//! `accessed_at` has moved [`ACCESS_LOG_GRANULARITY`] past the last logged value, so they survive
//! a restart (`accessed_at` to within that granularity) at the cost of at most one small record
//! per entity per second.
//!
//! # Counts
//!
//! Azure keeps a topic's scheduled messages at the topic until their time. Berth copies them into
//! the subscriptions at send (state `Scheduled`), so it reports them as Azure does: in the
//! topic's `scheduled_message_count` and `size_in_bytes` (each message once), never in a
//! subscription's counts. Deferred messages count as active, as in Azure.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::handle::EntityShared;
use super::state::{from_millis, millis, EntityState};
use super::topic::TopicShared;
use super::{EntityError, EntityHandle, EntityKind, MessageState};
use crate::store::record::Record;

/// How far `accessed_at` may run ahead of its last logged value before it is logged again.
pub const ACCESS_LOG_GRANULARITY: Duration = Duration::from_secs(1);

/// Created / updated / accessed times of one entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntityTimes {
    pub created_at: SystemTime,
    pub updated_at: SystemTime,
    pub accessed_at: Option<SystemTime>,
    /// The `accessed_at` last written to the log.
    logged_access: Option<SystemTime>,
}

impl EntityTimes {
    /// Times of an entity created at `now`.
    pub fn new(now: SystemTime) -> Self {
        Self {
            created_at: now,
            updated_at: now,
            accessed_at: None,
            logged_access: None,
        }
    }

    /// Times as a log record holds them (milliseconds since the Unix epoch).
    pub fn from_ms(created: i64, updated: i64, accessed: Option<i64>) -> Self {
        let accessed = accessed.map(from_millis);
        Self {
            created_at: from_millis(created),
            updated_at: from_millis(updated),
            accessed_at: accessed,
            logged_access: accessed,
        }
    }

    /// Notes an access at `now`; `true` when the new value should be logged.
    pub fn access(&mut self, now: SystemTime) -> bool {
        if self.accessed_at.is_some_and(|at| at >= now) {
            return false;
        }
        self.accessed_at = Some(now);
        let due = self.logged_access.is_none_or(|logged| {
            now.duration_since(logged)
                .is_ok_and(|ahead| ahead >= ACCESS_LOG_GRANULARITY)
        });
        if due {
            self.logged_access = Some(now);
        }
        due
    }

    /// The log record of these times for store entity `entity`.
    pub fn record(&self, entity: u32) -> Record<'static> {
        Record::EntityTimes {
            entity,
            created_ms: millis(self.created_at),
            updated_ms: millis(self.updated_at),
            accessed_ms: self.accessed_at.map(millis),
        }
    }
}

impl EntityState {
    /// Logs the entity's times (at creation, or after recovering an entity logged without them).
    pub fn log_times(&mut self) {
        let times = self.times;
        self.journal.log(|entity| times.record(entity));
    }

    /// Notes a send or receive request at `wall` (see the module docs).
    pub fn touch(&mut self, wall: SystemTime) {
        if self.times.access(wall) {
            self.log_times();
        }
    }

    /// `(transfer, transfer_dead_letter)`: messages waiting to be auto-forwarded (only ever
    /// non-zero while an operation holds the lock: forwarding happens as messages arrive) and
    /// messages in the transfer dead-letter sub-queue.
    pub fn transfer_counts(&self) -> (u64, u64) {
        (self.outbox.len() as u64, self.tdlq.messages.len() as u64)
    }
}

impl TopicShared {
    /// Notes a send to the topic at `wall`, logging the times when due.
    pub(crate) fn touch(&self, wall: SystemTime) {
        let mut times = self.times.lock().unwrap_or_else(|e| e.into_inner());
        if times.access(wall) {
            if let Some(store) = &self.store {
                store.append(&times.record(self.id));
            }
        }
    }
}

/// Message counts by state, as Azure's `MessageCountDetails`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MessageCountDetails {
    /// Active messages (locked and deferred ones included).
    pub active: u64,
    /// Messages in the dead-letter sub-queue.
    pub dead_letter: u64,
    /// Scheduled messages (queues; always 0 for subscriptions, see the module docs).
    pub scheduled: u64,
    /// Messages waiting to be forwarded.
    pub transfer: u64,
    /// Messages that could not be forwarded and were dead-lettered.
    pub transfer_dead_letter: u64,
}

impl MessageCountDetails {
    /// Azure's `TotalMessageCount`: every message the entity holds.
    pub fn total(&self) -> u64 {
        self.active + self.dead_letter + self.scheduled + self.transfer + self.transfer_dead_letter
    }
}

/// A queue's runtime properties (Azure's `QueueRuntimeProperties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRuntimeProperties {
    /// The queue's name.
    pub name: String,
    /// When the queue was created.
    pub created_at: SystemTime,
    /// When its description last changed.
    pub updated_at: SystemTime,
    /// Its last send or receive request (`None`: never; Azure says `0001-01-01T00:00:00Z`).
    pub accessed_at: Option<SystemTime>,
    /// Bytes of its messages (dead-letter sub-queue included).
    pub size_in_bytes: u64,
    /// Its message counts; `counts.total()` is the total message count.
    pub counts: MessageCountDetails,
}

/// A topic's runtime properties (Azure's `TopicRuntimeProperties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRuntimeProperties {
    /// The topic's name.
    pub name: String,
    /// When the topic was created.
    pub created_at: SystemTime,
    /// When its description last changed.
    pub updated_at: SystemTime,
    /// Its last send (`None`: never).
    pub accessed_at: Option<SystemTime>,
    /// Bytes of the messages it and its subscriptions hold (a scheduled message once).
    pub size_in_bytes: u64,
    /// How many subscriptions it has.
    pub subscription_count: u64,
    /// Scheduled messages waiting at the topic.
    pub scheduled_message_count: u64,
}

/// A subscription's runtime properties (Azure's `SubscriptionRuntimeProperties`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRuntimeProperties {
    /// The topic's name.
    pub topic_name: String,
    /// The subscription's name.
    pub subscription_name: String,
    /// When the subscription was created.
    pub created_at: SystemTime,
    /// When its description last changed.
    pub updated_at: SystemTime,
    /// Its last receive request (`None`: never).
    pub accessed_at: Option<SystemTime>,
    /// Its message counts (`scheduled` is always 0: they wait at the topic).
    pub counts: MessageCountDetails,
}

/// The runtime properties of one entity of any kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeProperties {
    /// A queue's.
    Queue(QueueRuntimeProperties),
    /// A topic's.
    Topic(TopicRuntimeProperties),
    /// A subscription's.
    Subscription(SubscriptionRuntimeProperties),
}

/// One pass over an entity's messages: counts and, for subscriptions, the scheduled copies
/// (sequence number → size) that belong to the topic.
struct Snapshot {
    times: EntityTimes,
    size: u64,
    counts: MessageCountDetails,
    scheduled: BTreeMap<i64, u64>,
}

fn snapshot(st: &EntityState) -> Snapshot {
    let (transfer, transfer_dead_letter) = st.transfer_counts();
    let mut counts = MessageCountDetails {
        dead_letter: st.dlq.messages.len() as u64,
        transfer,
        transfer_dead_letter,
        ..MessageCountDetails::default()
    };
    let mut scheduled = BTreeMap::new();
    for (&seq, m) in &st.main.messages {
        match m.state {
            MessageState::Active | MessageState::Deferred => counts.active += 1,
            MessageState::Scheduled => {
                counts.scheduled += 1;
                scheduled.insert(seq, m.body.len() as u64);
            }
        }
    }
    Snapshot {
        times: st.times,
        size: st.size_bytes,
        counts,
        scheduled,
    }
}

fn entity_snapshot(shared: &EntityShared) -> Result<Snapshot, EntityError> {
    // Reading properties is neither refused by the status nor activity.
    shared.with_quiet(|st, _, _| Ok(snapshot(st)))
}

/// The runtime properties of a queue or subscription.
pub(crate) fn entity_runtime(h: &EntityHandle) -> Result<RuntimeProperties, EntityError> {
    let s = entity_snapshot(&h.shared)?;
    Ok(match h.kind() {
        EntityKind::Subscription => {
            let path = &*h.shared.path;
            let (topic, name) = path.split_once("/Subscriptions/").unwrap_or((path, ""));
            RuntimeProperties::Subscription(SubscriptionRuntimeProperties {
                topic_name: topic.to_owned(),
                subscription_name: name.to_owned(),
                created_at: s.times.created_at,
                updated_at: s.times.updated_at,
                accessed_at: s.times.accessed_at,
                counts: MessageCountDetails {
                    scheduled: 0,
                    ..s.counts
                },
            })
        }
        _ => RuntimeProperties::Queue(QueueRuntimeProperties {
            name: h.shared.path.to_string(),
            created_at: s.times.created_at,
            updated_at: s.times.updated_at,
            accessed_at: s.times.accessed_at,
            size_in_bytes: s.size,
            counts: s.counts,
        }),
    })
}

/// The runtime properties of a topic: its scheduled messages are the union of the scheduled
/// copies of its subscriptions, each counted (and sized) once.
pub(crate) fn topic_runtime(t: &TopicShared) -> Result<TopicRuntimeProperties, EntityError> {
    let subscriptions = t.live_subscriptions()?;
    let mut scheduled: BTreeMap<i64, u64> = BTreeMap::new();
    let mut size = 0u64;
    for s in &subscriptions {
        let Ok(snap) = entity_snapshot(s) else {
            continue; // deleted since the list was taken
        };
        let copies: u64 = snap.scheduled.values().sum();
        size += snap.size.saturating_sub(copies);
        scheduled.extend(snap.scheduled);
    }
    let times = *t.times.lock().unwrap_or_else(|e| e.into_inner());
    Ok(TopicRuntimeProperties {
        name: t.name.to_string(),
        created_at: times.created_at,
        updated_at: times.updated_at,
        accessed_at: times.accessed_at,
        size_in_bytes: size + scheduled.values().sum::<u64>(),
        subscription_count: subscriptions.len() as u64,
        scheduled_message_count: scheduled.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accesses_are_logged_once_per_granularity() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut times = EntityTimes::new(t0);
        assert_eq!(times.accessed_at, None, "never accessed after creation");
        assert!(times.access(t0), "the first access is logged");
        assert!(!times.access(t0 + Duration::from_millis(500)));
        assert_eq!(times.accessed_at, Some(t0 + Duration::from_millis(500)));
        assert!(times.access(t0 + ACCESS_LOG_GRANULARITY));
        assert!(
            !times.access(t0),
            "an earlier clock reading never moves it back"
        );
        assert_eq!(times.accessed_at, Some(t0 + ACCESS_LOG_GRANULARITY));
    }

    #[test]
    fn times_round_trip_through_their_record() {
        let times = EntityTimes {
            accessed_at: Some(SystemTime::UNIX_EPOCH + Duration::from_millis(3)),
            ..EntityTimes::new(SystemTime::UNIX_EPOCH + Duration::from_millis(1))
        };
        let Record::EntityTimes {
            created_ms,
            updated_ms,
            accessed_ms,
            ..
        } = times.record(7)
        else {
            panic!("not a times record");
        };
        let back = EntityTimes::from_ms(created_ms, updated_ms, accessed_ms);
        assert_eq!(back.created_at, times.created_at);
        assert_eq!(back.updated_at, times.updated_at);
        assert_eq!(back.accessed_at, times.accessed_at);
    }
}
