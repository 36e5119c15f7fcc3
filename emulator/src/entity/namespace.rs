//! `Namespace`: the registry of queues, topics and subscriptions, by case-insensitive name.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::error::{RECEIVER_ON_TOPIC, SENDER_ON_DEAD_LETTER_QUEUE, SENDER_ON_SUBSCRIPTION};
use super::forward::Router;
use super::handle::{EntityHandle, Parts};
use super::journal::Journal;
use super::path::{key, EntityName, EntityPath};
use super::registry::{info, mark_deleted, Registry};
use super::restore::restore;
use super::runtime::topic_runtime;
use super::send::Sender;
use super::state::Sub;
use super::timer::TimerHandle;
use super::topic::TopicHandle;
use super::{
    EntityError, EntityInfo, EntityKind, NewMessage, RuntimeProperties,
    TopicOptions,
};
use crate::store::record::Record;
use crate::store::{Commit, StoreHandle, StoreOptions};

pub(super) struct Inner {
    pub registry: Arc<RwLock<Registry>>,
    pub timer: TimerHandle,
    pub store: Option<StoreHandle>,
    pub router: Router,
}

/// A Service Bus namespace: queues, topics and subscriptions. Cheap to clone, `Send + Sync`.
#[derive(Clone)]
pub struct Namespace {
    pub(super) inner: Arc<Inner>,
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
        Self::with_parts(
            Registry::default(),
            None,
            TimerHandle::start(),
            Router::default(),
        )
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
        let router = Router::default();
        let registry = restore(recovered, &store, &timer, &router);
        let namespace = Self::with_parts(registry, Some(store), timer, router);
        namespace.forward_recovered();
        Ok(namespace)
    }

    fn with_parts(
        registry: Registry,
        store: Option<StoreHandle>,
        timer: TimerHandle,
        router: Router,
    ) -> Self {
        let registry = Arc::new(RwLock::new(registry));
        router.bind(&registry);
        let namespace = Self {
            inner: Arc::new(Inner {
                registry,
                timer,
                store,
                router,
            }),
        };
        super::idle::start_sweeper(&namespace);
        namespace
    }

    pub(super) fn parts(&self, id: u32, parent: Option<Arc<super::status::Lifecycle>>) -> Parts {
        Parts {
            journal: Journal::new(self.inner.store.clone(), id),
            timer: self.inner.timer.clone(),
            router: self.inner.router.clone(),
            parent,
        }
    }

    /// Whether sends are written to disk.
    pub fn is_durable(&self) -> bool {
        self.inner.store.is_some()
    }

    pub(super) fn read(&self) -> RwLockReadGuard<'_, Registry> {
        self.inner
            .registry
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn write(&self) -> RwLockWriteGuard<'_, Registry> {
        self.inner
            .registry
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn log(&self, rec: Record<'_>) -> Result<Commit, EntityError> {
        match &self.inner.store {
            Some(s) => {
                s.healthy()?;
                Ok(s.commit(s.append(&rec)))
            }
            None => Ok(Commit::ready()),
        }
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
                let Ok(runtime) = topic_runtime(t) else {
                    continue; // deleted meanwhile
                };
                out.push(EntityInfo {
                    path: t.name.to_string(),
                    kind: EntityKind::Topic,
                    options: None,
                    topic_options: Some(TopicOptions {
                        status: t.lifecycle.status(),
                        ..t.options.clone()
                    }),
                    counts: Default::default(),
                    runtime: RuntimeProperties::Topic(runtime),
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
        let sub = match (parsed.dead_letter, parsed.transfer) {
            (true, true) => Sub::TransferDeadLetter,
            (true, false) => Sub::DeadLetter,
            _ => Sub::Main,
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
