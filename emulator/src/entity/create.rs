//! Creating queues, topics and subscriptions: names checked, forwarding destinations checked,
//! the creation (and the entity's times, a subscription's rules) logged, then the entity
//! registered.

use super::activation::Numbering;
use super::apply::check_forwarding;
use super::handle::EntityShared;
use super::namespace::Namespace;
use super::path::key;
use super::registry::validate_name;
use super::rules::log_rules;
use super::topic::TopicShared;
use super::{EntityError, EntityKind, EntityOptions, TopicOptions};
use crate::filter::RuleSet;
use crate::store::record::Record;
use crate::store::Commit;

impl Namespace {
    /// Creates a queue. Queue and topic names share one case-insensitive name space.
    pub fn create_queue(&self, name: &str, options: EntityOptions) -> Result<Commit, EntityError> {
        options.validate()?;
        let mut reg = self.write();
        let (k, id) = reg.reserve(name)?;
        check_forwarding(&reg, name, &options)?;
        let commit = self.log(Record::CreateQueue {
            id,
            name,
            options: options.clone(),
        })?;
        reg.next_id += 1;
        let shared = EntityShared::new(
            EntityKind::Queue,
            k.clone(),
            name.to_owned(),
            options,
            self.parts(id, None),
        );
        let commit = commit.and(log_times(&shared));
        reg.queues.insert(k, shared);
        Ok(commit)
    }

    /// Creates a topic with the default [`TopicOptions`].
    pub fn create_topic(&self, name: &str) -> Result<Commit, EntityError> {
        self.create_topic_with(name, TopicOptions::default())
    }

    /// Creates a topic with `options`.
    pub fn create_topic_with(
        &self,
        name: &str,
        options: TopicOptions,
    ) -> Result<Commit, EntityError> {
        options.validate()?;
        let mut reg = self.write();
        let (k, id) = reg.reserve(name)?;
        let commit = self.log(Record::CreateTopic {
            id,
            name,
            options: options.clone(),
        })?;
        reg.next_id += 1;
        let topic = TopicShared::new(
            id,
            name.to_owned(),
            options,
            1,
            self.inner.store.clone(),
        );
        let times = *topic.times.lock().unwrap_or_else(|e| e.into_inner());
        let commit = commit.and(self.log(times.record(id))?);
        reg.topics.insert(k, topic);
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
        if options.requires_duplicate_detection {
            return Err(EntityError::InvalidArgument(
                "requires_duplicate_detection is not supported on a subscription: Service Bus detects duplicates at the topic.".into(),
            ));
        }
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
        check_forwarding(&reg, &path, &options)?;
        let id = reg.next_id;
        let commit = self.log(Record::CreateSubscription {
            id,
            topic: t.id,
            name,
            options: options.clone(),
        })?;
        reg.next_id += 1;
        let commit = commit.and(log_rules(self.inner.store.as_ref(), id, &rules)?);
        let shared = EntityShared::new(
            EntityKind::Subscription,
            key(name),
            path,
            options,
            self.parts(id, Some(t.lifecycle.clone())),
        );
        shared.lock().numbering = Numbering::topic(&t);
        let commit = commit.and(log_times(&shared));
        shared.lock().rules = rules;
        t.subscriptions
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(shared);
        Ok(commit)
    }
}

/// Logs a new queue's or subscription's times; the commit covers the record.
fn log_times(shared: &EntityShared) -> Commit {
    let mut st = shared.lock();
    st.log_times();
    st.journal.commit()
}
