//! Topics: a name, options, a sequence counter and the subscriptions a send fans out to.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use tokio::time::Instant;

use super::activation::Renumbered;
use super::dedup::Dedup;
use super::handle::{EntityHandle, EntityShared};
use super::runtime::EntityTimes;
use super::send::Sender;
use super::state::Sub;
use super::status::Lifecycle;
use super::{EntityError, EntityStatus, TopicOptions};
use crate::store::StoreHandle;

/// A topic's shared state.
pub(crate) struct TopicShared {
    pub id: u32,
    pub name: Arc<str>,
    pub options: TopicOptions,
    pub subscriptions: RwLock<Vec<Arc<EntityShared>>>,
    /// Sequence numbers are the topic's: every subscription's copy has the same number.
    pub next_seq: AtomicI64,
    pub deleted: AtomicBool,
    pub store: Option<StoreHandle>,
    /// Created / updated / accessed (see `runtime`).
    pub times: Mutex<EntityTimes>,
    /// New numbers of recently activated scheduled messages (see `activation`).
    pub renumbered: Renumbered,
    /// Live status and last activity (subscriptions' activity counts here too).
    pub lifecycle: Arc<Lifecycle>,
    /// Duplicate detection history, if the topic requires it.
    pub dedup: Mutex<Option<Dedup>>,
}

impl TopicShared {
    pub fn new(
        id: u32,
        name: String,
        options: TopicOptions,
        next_seq: i64,
        store: Option<StoreHandle>,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            name: name.into(),
            subscriptions: RwLock::new(Vec::new()),
            next_seq: AtomicI64::new(next_seq),
            deleted: AtomicBool::new(false),
            store,
            times: Mutex::new(EntityTimes::new(SystemTime::now())),
            renumbered: Renumbered::default(),
            lifecycle: Lifecycle::new(options.status, None),
            dedup: Mutex::new(
                options
                    .requires_duplicate_detection
                    .then(|| Dedup::new(options.duplicate_detection_history_time_window)),
            ),
            options,
        })
    }

    /// The subscriptions, or `NotFound` once the topic is deleted.
    pub fn live_subscriptions(&self) -> Result<Vec<Arc<EntityShared>>, EntityError> {
        if self.deleted.load(Ordering::Acquire) {
            return Err(EntityError::not_found(&self.name));
        }
        Ok(self
            .subscriptions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone())
    }

    /// The subscription named `name` (case-insensitive).
    pub fn subscription(&self, name: &str) -> Option<Arc<EntityShared>> {
        let key = super::path::key(name);
        self.subscriptions
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|s| s.key == key)
            .cloned()
    }
}

/// A topic. Cheap to clone.
#[derive(Clone)]
pub struct TopicHandle {
    pub(crate) shared: Arc<TopicShared>,
}

impl TopicHandle {
    /// The topic's name as created.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The topic's options as created (see [`status`](Self::status) for the live status).
    pub fn options(&self) -> &TopicOptions {
        &self.shared.options
    }

    /// The topic's status now.
    pub fn status(&self) -> EntityStatus {
        self.shared.lifecycle.status()
    }

    /// When the topic was last active (sends, scheduled messages, operations on its
    /// subscriptions, updates), on the broker's monotonic clock.
    pub fn last_active(&self) -> Instant {
        self.shared.lifecycle.last_active()
    }

    /// A sender that fans out to every subscription.
    pub fn sender(&self) -> Sender {
        Sender::topic(self.shared.clone())
    }

    /// The topic's subscriptions.
    pub fn subscriptions(&self) -> Result<Vec<EntityHandle>, EntityError> {
        Ok(self
            .shared
            .live_subscriptions()?
            .into_iter()
            .map(|s| EntityHandle::new(s, Sub::Main))
            .collect())
    }
}

impl std::fmt::Debug for TopicHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicHandle")
            .field("name", &self.name())
            .finish()
    }
}
