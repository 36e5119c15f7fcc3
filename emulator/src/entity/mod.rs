//! Service Bus semantics with no AMQP in sight: queues, topics and subscriptions, sessions,
//! locks, delivery counts, dead-letter sub-queues, deferral, scheduling and time to live.
//!
//! Messages are opaque: senders hand in the encoded AMQP message as [`bytes::Bytes`] plus the
//! metadata this layer needs ([`NewMessage`]); receivers get the bytes back with the broker's
//! metadata ([`ReceivedMessage`]) for the node layer to put into annotations.
//!
//! # The API in one page
//!
//! ```text
//! Namespace (Clone, Send + Sync)
//!   in_memory() | open(dir).await | open_with(dir, StoreOptions).await
//!   create_queue(name, EntityOptions) / create_topic(name) / create_topic_with(name, TopicOptions)
//!   create_subscription(topic, name, EntityOptions) / set_status(path, EntityStatus)
//!   create_subscription_with_rules(topic, name, EntityOptions, RuleSet)
//!   add_rule(path, Rule) / remove_rule(path, name) / rules(path) -> Vec<Rule>
//!   apply_config(&EntitiesConfig) / delete(path) / entities() -> Vec<EntityInfo>
//!   resolve(path) -> Node::{Entity(EntityHandle), Topic(TopicHandle)}
//!   sender(path) -> Sender            (queue or topic; subscription/DLQ refused with SB's text)
//!   receiver(path) -> EntityHandle    (queue, subscription, or their $DeadLetterQueue)
//!   send(path, &NewMessage).await -> seq, flush().await, compact().await
//!
//! Sender (Clone)
//!   enqueue(&msg) -> (seq, Commit)    enqueue_batch(&[msg]) -> (Vec<seq>, Commit)
//!   send(&msg).await -> seq           send_batch(&[msg]).await -> Vec<seq>   (wait for durability)
//!   cancel_scheduled(&[seq]) -> Commit
//!
//! EntityHandle (Clone) — plain receive, settlement, management
//!   try_receive(mode, Option<&Waker>) -> Option<ReceivedMessage>   receive(mode).await
//!   try_receive_many(mode, max, &mut Vec, Option<&Waker>) -> n
//!   settle(&LockToken, Disposition) -> Commit       renew_lock(&LockToken) -> SystemTime
//!   peek(from_seq, max, Option<session>)            receive_deferred(&[seq], mode, Option<session>)
//!   accept_session(id) -> SessionLock               try_accept_next_session(Option<&Waker>) / accept_next_session().await
//!   renew_session_lock(id) / session_state(id) / set_session_state(id, Option<Bytes>) / list_sessions(after, skip, top)
//!   counts(), transfer_counts(), options(), status(), path(), kind(), requires_session(),
//!   dead_letter_queue(), transfer_dead_letter_queue()
//!
//! SessionLock (dropping it releases the session)
//!   session_id(), locked_until(), try_receive(mode, waker), receive(mode).await, try_receive_many(..)
//!   settle(&LockToken, Disposition), renew(), state(), set_state(Option<Bytes>),
//!   receive_deferred(&[seq], mode), peek(from, max), release()
//! ```
//!
//! # Semantics chosen (and where they come from)
//!
//! * **Sequence numbers** are per queue, and per *topic* for subscriptions (every copy of a
//!   topic message has the topic's number, so cancelling a scheduled topic message works by
//!   number). They start at 1 and never repeat, across restarts too. **A dead-lettered message
//!   keeps its sequence number** in the dead-letter sub-queue.
//! * **Delivery count** is the number of *prior* deliveries (`header.delivery-count`): 0 on
//!   the first. Abandon and lock expiry add 1; release, session release and defer do not.
//!   When an added attempt reaches `max_delivery_count` the message is dead-lettered with reason
//!   [`MAX_DELIVERY_COUNT_EXCEEDED`] and description "Message could not be consumed after N
//!   delivery attempts.". Messages in a dead-letter sub-queue are never dead-lettered again.
//! * **Order**: the lowest available sequence number goes first, so abandoned and released
//!   messages go back to the head. Sessions for accept-next rotate oldest-waiting first.
//! * **Deferred** messages are received only by sequence number; abandoning one keeps it
//!   deferred.
//! * **Scheduled** messages (scheduled enqueue time in the future) are visible to peek with
//!   state `Scheduled` and turn active at their time, with that time as enqueued time.
//! * **Time to live**: min(message TTL, entity default), counted from the enqueue (or
//!   scheduled) time. Expired messages are removed, or dead-lettered with reason
//!   [`TTL_EXPIRED`] when `dead_lettering_on_message_expiration`. A locked message expires when
//!   its lock ends. Dead letters do not expire.
//! * **Sessions**: a session exists while it has messages, state or a lock. Accepting an empty
//!   session by id is allowed. See [`SessionLock`] for release and expiry.
//! * **Topics** fan out to the subscriptions whose rules admit the message (`$Default`, the
//!   true filter, on a new subscription; one copy when any rule without an action matches, one
//!   more per matching rule with an action); with none, a send is accepted and dropped. A
//!   session subscription refuses a topic message without a session id that it would admit,
//!   which fails the whole send.
//! * **Quota**: a send that would take the entity (main + dead-letter) past `max_size_bytes`
//!   fails with [`EntityError::QuotaExceeded`].
//! * **Duplicate detection**, **auto-forwarding** (and the transfer dead-letter sub-queue),
//!   **status** and **auto-delete on idle**: see the `dedup`, `forward`, `status` and `idle`
//!   modules' documentation (and [`EntityOptions`], [`TopicOptions`]) for what Service Bus
//!   does and what was chosen where its documentation is silent.
//!
//! # Waiting
//!
//! `try_*` calls never block. With nothing to hand out they register the given
//! [`std::task::Waker`] and return `Ok(None)`; the waker is woken once when something may be
//! available (or the lock/entity is lost), after which the caller tries again. Wakers are woken
//! while the entity lock is held, so they must only schedule work (as task wakers do). The
//! async helpers (`receive`, `accept_next_session`) are built on these.
//!
//! # Cost
//!
//! Each entity has its own `std::sync::Mutex`; there is no global lock on the hot path (the
//! namespace registry is read only when resolving paths). Send, receive and settle are
//! O(log n) with no allocation beyond the message itself (and a new session's id). One timer
//! task per namespace handles lock expiry, scheduling and TTL. A topic send decodes the
//! message's properties once, and only when some subscription has a rule that reads them
//! (`$Default` alone never does); each subscription's rules are then evaluated against that
//! one view.
//!
//! # Durability
//!
//! In a namespace from [`Namespace::open`], every change is logged (see [`crate::store`]);
//! operations return a [`Commit`] that resolves once their record is on disk. `Sender::send`
//! waits for it; await it before acknowledging a transfer. Receive-and-delete removals are
//! logged but not awaited. Locks and delivery counts are not durable.

mod activation;
mod apply;
mod config;
mod create;
mod dedup;
mod duration;
mod error;
mod expiry;
mod fan_out;
mod forward;
mod handle;
mod inspect;
mod idle;
mod journal;
mod message;
mod namespace;
mod options;
mod path;
mod publish;
mod ready;
mod receive;
mod registry;
mod restore;
mod runtime;
mod rule_config;
mod rules;
mod send;
mod session;
mod sessions;
mod shared;
mod settle;
mod state;
mod status;
mod timer;
mod token;
mod topic;
mod topic_peek;
mod topic_options;
mod wait;

pub use crate::store::{Commit, StoreOptions};
pub use config::{EntitiesConfig, EntityConfig, HumaneDuration, TopicConfig};
pub use duration::parse_duration;
pub use error::{
    EntityError, DEAD_LETTER_IN_DEAD_LETTER_QUEUE, RECEIVER_ON_TOPIC, SENDER_ON_DEAD_LETTER_QUEUE,
    SENDER_ON_SUBSCRIPTION, SESSIONFUL_ENTITY_NEEDS_SESSION_RECEIVER, SESSION_ID_MISSING,
    SESSION_RECEIVER_ON_SESSIONLESS_ENTITY,
};
pub use handle::{EntityHandle, TransferCounts, MAX_SESSION_STATE_BYTES};
pub use idle::SWEEP_EVERY as IDLE_SWEEP_EVERY;
pub use message::{
    DeadLetterInfo, Disposition, MessageState, NewMessage, ReceiveMode, ReceivedMessage,
    MAX_DELIVERY_COUNT_EXCEEDED, MAX_TRANSFER_HOPS, MAX_TRANSFER_HOP_COUNT_EXCEEDED, TTL_EXPIRED,
};
pub use namespace::{Namespace, Node};
pub use options::{
    EntityOptions, DEFAULT_DUPLICATE_DETECTION_WINDOW, MAX_DUPLICATE_DETECTION_WINDOW,
    MAX_LOCK_DURATION, MIN_AUTO_DELETE_ON_IDLE, MIN_DUPLICATE_DETECTION_WINDOW,
};
pub(crate) use state::Sub;
pub use status::EntityStatus;
pub use topic_options::TopicOptions;
pub use path::{EntityName, EntityPath};
pub use runtime::{
    MessageCountDetails, QueueRuntimeProperties, RuntimeProperties, SubscriptionRuntimeProperties,
    TopicRuntimeProperties, ACCESS_LOG_GRANULARITY,
};
pub use rule_config::{CorrelationConfig, PropertyValue, RuleConfig};
pub use rules::RULES_ON_SUBSCRIPTIONS_ONLY;
pub use send::Sender;
pub use session::SessionLock;
pub use token::LockToken;
pub use topic::TopicHandle;

/// What an entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EntityKind {
    /// A queue.
    Queue,
    /// A topic (sends only).
    Topic,
    /// A topic's subscription (receives only).
    Subscription,
}

/// Runtime counts of a queue or subscription.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityCounts {
    /// Active messages, locked ones included.
    pub active: usize,
    /// Scheduled messages.
    pub scheduled: usize,
    /// Deferred messages.
    pub deferred: usize,
    /// Messages in the dead-letter sub-queue.
    pub dead_lettered: usize,
    /// Messages locked by receivers (main and dead-letter).
    pub locked: usize,
    /// Sessions with messages, state or a lock.
    pub sessions: usize,
    /// Bytes of all messages (main and dead-letter).
    pub size_bytes: u64,
}

/// An entity as listed by [`Namespace::entities`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityInfo {
    /// Its path (`orders`, `events`, `events/Subscriptions/audit`).
    pub path: String,
    /// Its kind.
    pub kind: EntityKind,
    /// Its options, with the live status (`None` for topics).
    pub options: Option<EntityOptions>,
    /// A topic's options, with the live status (`None` for queues and subscriptions).
    pub topic_options: Option<TopicOptions>,
    /// Its counts (zero for topics).
    pub counts: EntityCounts,
    /// Its runtime properties as Azure's administration clients report them.
    pub runtime: RuntimeProperties,
}
