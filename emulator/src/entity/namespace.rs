//! `Namespace`: the registry of queues, topics and subscriptions, by case-insensitive name.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::error::{RECEIVER_ON_TOPIC, SENDER_ON_DEAD_LETTER_QUEUE, SENDER_ON_SUBSCRIPTION};
use super::handle::{EntityHandle, EntityShared};
use super::journal::Journal;
use super::path::{key, EntityName, EntityPath};
use super::registry::{info, mark_deleted, validate_name, Registry};
use super::restore::restore;
use super::rules::log_rules;
use super::send::Sender;
use super::state::Sub;
use super::timer::TimerHandle;
use super::topic::{TopicHandle, TopicShared};
use super::{EntitiesConfig, EntityError, EntityInfo, EntityKind, EntityOptions, NewMessage};
use crate::filter::RuleSet;
use crate::store::record::Record;
use crate::store::{Commit, StoreHandle, StoreOptions};

struct Inner {
    registry: RwLock<Registry>,
    timer: TimerHandle,
    store: Option<StoreHandle>,
}

/// A Service Bus namespace: queues, topics and subscriptions. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Namespace {
    inner: Arc<Inner>,
}

/// What a path resolves to.
#[derive(Debug, Clone)]
pub enum Node {
    /// A queue or subscription (or its dead-letter sub-queue).
    Entity(EntityHandle),
    /// A topic.
    Topic(TopicHandle),
}

impl Namespace {
    /// A namespace kept in memory only. Its timer runs on the current Tokio runtime (or, outside
    /// one, on a thread of its own).
    pub fn in_memory() -> Self {
        Self::build(Registry::default(), None)
    }

    /// Opens (creating if needed) a durable namespace in `dir` and recovers its entities,
    /// messages and session states.
    pub async fn open(dir: impl AsRef<Path>) -> Result<Self, EntityError> {
        Self::open_with(dir, StoreOptions::default()).await
    }

    /// Like [`open`](Self::open) with store tuning.
    pub async fn open_with(
        dir: impl AsRef<Path>,
        options: StoreOptions,
    ) -> Result<Self, EntityError> {
        let dir = dir.as_ref().to_path_buf();
        let (store, recovered) =
            tokio::task::spawn_blocking(move || StoreHandle::open(&dir, options))
                .await
                .map_err(|e| EntityError::Store(format!("recovery stopped: {e}")))??;
        let timer = TimerHandle::start();
        let registry = restore(recovered, &store, &timer);
        Ok(Self::with_parts(registry, Some(store), timer))
    }

    fn build(registry: Registry, store: Option<StoreHandle>) -> Self {
        Self::with_parts(registry, store, TimerHandle::start())
    }

    fn with_parts(registry: Registry, store: Option<StoreHandle>, timer: TimerHandle) -> Self {
        Self {
            inner: Arc::new(Inner {
                registry: RwLock::new(registry),
                timer,
                store,
            }),
        }
    }

    /// Whether sends are written to disk.
    pub fn is_durable(&self) -> bool {
        self.inner.store.is_some()
    }

    fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner
            .registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn log(&self, rec: Record<'_>) -> Result<Commit, EntityError> {
        match &self.inner.store {
            Some(s) => {
                s.healthy()?;
                Ok(s.commit(s.append(&rec)))
            }
            None => Ok(Commit::ready()),
        }
    }

    /// Creates a queue. Queue and topic names share one case-insensitive name space.
    pub fn create_queue(&self, name: &str, options: EntityOptions) -> Result<Commit, EntityError> {
        options.validate()?;
        let mut reg = self.write();
        let (k, id) = reg.reserve(name)?;
        let commit = self.log(Record::CreateQueue {
            id,
            name,
            options: options.clone(),
        })?;
        reg.next_id += 1;
        let journal = Journal::new(self.inner.store.clone(), id);
        let shared = EntityShared::new(
            EntityKind::Queue,
            k.clone(),
            name.to_owned(),
            options,
            journal,
            self.inner.timer.clone(),
        );
        reg.queues.insert(k, shared);
        Ok(commit)
    }

    /// Creates a topic.
    pub fn create_topic(&self, name: &str) -> Result<Commit, EntityError> {
        let mut reg = self.write();
        let (k, id) = reg.reserve(name)?;
        let commit = self.log(Record::CreateTopic { id, name })?;
        reg.next_id += 1;
        reg.topics.insert(
            k,
            TopicShared::new(id, name.to_owned(), 1, self.inner.store.clone()),
        );
        Ok(commit)
    }

    /// Creates a subscription of `topic` with the rule `$Default` (every message); it
    /// receives copies of messages sent from now on.
    pub fn create_subscription(
        &self,
        topic: &str,
        name: &str,
        options: EntityOptions,
    ) -> Result<Commit, EntityError> {
        self.create_subscription_with_rules(topic, name, options, RuleSet::default())
    }

    /// Creates a subscription of `topic` with exactly `rules` (instead of `$Default`), as
    /// Service Bus does for a subscription created with a rule of its own.
    pub fn create_subscription_with_rules(
        &self,
        topic: &str,
        name: &str,
        options: EntityOptions,
        rules: RuleSet,
    ) -> Result<Commit, EntityError> {
        validate_name(name, false)?;
        options.validate()?;
        let mut reg = self.write();
        let t = reg
            .topics
            .get(&key(topic))
            .cloned()
            .ok_or_else(|| EntityError::not_found(topic))?;
        let path = format!("{}/Subscriptions/{name}", t.name);
        if t.subscription(name).is_some() {
            return Err(EntityError::AlreadyExists { path });
        }
        let id = reg.next_id;
        let commit = self.log(Record::CreateSubscription {
            id,
            topic: t.id,
            name,
            options: options.clone(),
        })?;
        reg.next_id += 1;
        let commit = commit.and(log_rules(self.inner.store.as_ref(), id, &rules)?);
        let journal = Journal::new(self.inner.store.clone(), id);
        let shared = EntityShared::new(
            EntityKind::Subscription,
            key(name),
            path,
            options,
            journal,
            self.inner.timer.clone(),
        );
        shared.lock().rules = rules;
        t.subscriptions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared);
        Ok(commit)
    }

    /// Creates the configured entities that do not exist yet (existing ones are left as they are).
    pub fn apply_config(&self, config: &EntitiesConfig) -> Result<Commit, EntityError> {
        let mut commit = Commit::ready();
        let skip_existing = |r: Result<Commit, EntityError>| match r {
            Ok(c) => Ok(Some(c)),
            Err(EntityError::AlreadyExists { .. }) => Ok(None),
            Err(e) => Err(e),
        };
        for q in &config.queues {
            if let Some(c) = skip_existing(self.create_queue(&q.name, q.options()))? {
                commit = commit.and(c);
            }
        }
        for t in &config.topics {
            if let Some(c) = skip_existing(self.create_topic(&t.name))? {
                commit = commit.and(c);
            }
            for s in &t.subscriptions {
                let created = match s.rule_set()? {
                    Some(rules) => {
                        self.create_subscription_with_rules(&t.name, &s.name, s.options(), rules)
                    }
                    None => self.create_subscription(&t.name, &s.name, s.options()),
                };
                if let Some(c) = skip_existing(created)? {
                    commit = commit.and(c);
                }
            }
        }
        Ok(commit)
    }

    /// Deletes a queue, topic (with its subscriptions) or subscription and its messages.
    /// Handles to it fail with `NotFound` from then on.
    pub fn delete(&self, path: &str) -> Result<Commit, EntityError> {
        let parsed = EntityPath::parse(path)?;
        if parsed.dead_letter {
            return Err(EntityError::InvalidArgument(format!(
                "'{path}' is a sub-queue; delete its entity."
            )));
        }
        let mut reg = self.write();
        match parsed.name {
            EntityName::Plain(name) => {
                let k = key(name);
                if let Some(q) = reg.queues.get(&k).cloned() {
                    let commit = self.log(Record::DeleteEntity {
                        id: q.lock().journal.id,
                    })?;
                    reg.queues.remove(&k);
                    mark_deleted(&q);
                    Ok(commit)
                } else if let Some(t) = reg.topics.get(&k).cloned() {
                    let commit = self.log(Record::DeleteEntity { id: t.id })?;
                    reg.topics.remove(&k);
                    t.deleted.store(true, Ordering::Release);
                    for s in t
                        .subscriptions
                        .write()
                        .unwrap_or_else(|e| e.into_inner())
                        .drain(..)
                    {
                        mark_deleted(&s);
                    }
                    Ok(commit)
                } else {
                    Err(EntityError::not_found(path))
                }
            }
            EntityName::Subscription {
                topic,
                subscription,
            } => {
                let t = reg
                    .topics
                    .get(&key(topic))
                    .cloned()
                    .ok_or_else(|| EntityError::not_found(path))?;
                let s = t
                    .subscription(subscription)
                    .ok_or_else(|| EntityError::not_found(path))?;
                let commit = self.log(Record::DeleteEntity {
                    id: s.lock().journal.id,
                })?;
                t.subscriptions
                    .write()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|x| !Arc::ptr_eq(x, &s));
                mark_deleted(&s);
                drop(reg);
                Ok(commit)
            }
        }
    }

    /// Every entity with its options and runtime counts, queues and topics sorted by name.
    pub fn entities(&self) -> Vec<EntityInfo> {
        let reg = self.read();
        let mut names: Vec<&String> = reg.queues.keys().chain(reg.topics.keys()).collect();
        names.sort();
        let mut out = Vec::new();
        for k in names {
            if let Some(q) = reg.queues.get(k) {
                out.extend(info(&EntityHandle::new(q.clone(), Sub::Main)));
            } else if let Some(t) = reg.topics.get(k) {
                out.push(EntityInfo {
                    path: t.name.to_string(),
                    kind: EntityKind::Topic,
                    options: None,
                    counts: Default::default(),
                });
                for s in t
                    .subscriptions
                    .read()
                    .unwrap_or_else(|e| e.into_inner())
                    .iter()
                {
                    out.extend(info(&EntityHandle::new(s.clone(), Sub::Main)));
                }
            }
        }
        out
    }

    /// Resolves an entity path (`orders`, `orders/$DeadLetterQueue`, `t/Subscriptions/s`,
    /// `t/subscriptions/s/$deadletterqueue`; case-insensitive; scheme and host stripped).
    pub fn resolve(&self, path: &str) -> Result<Node, EntityError> {
        let parsed = EntityPath::parse(path)?;
        let sub = if parsed.dead_letter {
            Sub::DeadLetter
        } else {
            Sub::Main
        };
        let reg = self.read();
        match parsed.name {
            EntityName::Plain(name) => {
                let k = key(name);
                if let Some(q) = reg.queues.get(&k) {
                    Ok(Node::Entity(EntityHandle::new(q.clone(), sub)))
                } else if let (Some(t), false) = (reg.topics.get(&k), parsed.dead_letter) {
                    Ok(Node::Topic(TopicHandle { shared: t.clone() }))
                } else {
                    Err(EntityError::not_found(path))
                }
            }
            EntityName::Subscription {
                topic,
                subscription,
            } => reg
                .topics
                .get(&key(topic))
                .and_then(|t| t.subscription(subscription))
                .map(|s| Node::Entity(EntityHandle::new(s, sub)))
                .ok_or_else(|| EntityError::not_found(path)),
        }
    }

    /// A sender for a queue or topic path (subscriptions and dead-letter sub-queues refuse).
    pub fn sender(&self, path: &str) -> Result<Sender, EntityError> {
        match self.resolve(path)? {
            Node::Topic(t) => Ok(t.sender()),
            Node::Entity(h) if h.is_dead_letter_queue() => {
                Err(EntityError::NotAllowed(SENDER_ON_DEAD_LETTER_QUEUE.into()))
            }
            Node::Entity(h) if h.kind() == EntityKind::Subscription => {
                Err(EntityError::NotAllowed(SENDER_ON_SUBSCRIPTION.into()))
            }
            Node::Entity(h) => Ok(Sender::queue(h.shared)),
        }
    }

    /// A receiving handle for a queue, subscription or dead-letter path (topics refuse).
    pub fn receiver(&self, path: &str) -> Result<EntityHandle, EntityError> {
        match self.resolve(path)? {
            Node::Entity(h) => Ok(h),
            Node::Topic(_) => Err(EntityError::NotAllowed(RECEIVER_ON_TOPIC.into())),
        }
    }

    /// Resolves `path` and sends one message, waiting until it is durable. For the hot path,
    /// keep a [`Sender`] instead.
    pub async fn send(&self, path: &str, msg: &NewMessage) -> Result<i64, EntityError> {
        self.sender(path)?.send(msg).await
    }

    /// Waits until everything logged so far is on disk (no-op in memory).
    pub async fn flush(&self) -> Result<(), EntityError> {
        match &self.inner.store {
            Some(s) => s.commit_all().wait().await,
            None => Ok(()),
        }
    }

    /// Compacts the log now (no-op in memory). Compaction also runs on its own as the log grows.
    pub async fn compact(&self) -> Result<(), EntityError> {
        match &self.inner.store {
            Some(s) => s.compact().await,
            None => Ok(()),
        }
    }
}
