//! Entity definitions read from configuration (TOML):
//!
//! ```toml
//! [[queues]]
//! name = "orders"
//! requires_session = true
//! lock_duration = "30s"
//!
//! [[topics]]
//! name = "events"
//! requires_duplicate_detection = true
//! [[topics.subscriptions]]
//! name = "audit"
//! max_delivery_count = 3
//! [[topics.subscriptions.rules]]
//! name = "red"
//! sql = "color = 'red'"
//! ```
//!
//! Subscription rules: see [`RuleConfig`].

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration::parse_duration;
use super::rule_config::{rule_set, rule_set_or_error, RuleConfig};
use super::{EntityError, EntityOptions, EntityStatus, TopicOptions};
use crate::filter::RuleSet;

/// A duration written as a humane string (`"60s"`, `"5m"`, `"PT1M"`, `"00:01:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumaneDuration(pub Duration);

impl TryFrom<String> for HumaneDuration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        parse_duration(&value).map(Self)
    }
}

impl From<HumaneDuration> for String {
    fn from(value: HumaneDuration) -> Self {
        value.to_string()
    }
}

impl fmt::Display for HumaneDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.subsec_nanos() == 0 {
            write!(f, "{}s", d.as_secs())
        } else {
            write!(f, "{}ms", d.as_millis())
        }
    }
}

/// All entities to create at start-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntitiesConfig {
    /// `[[queues]]` tables.
    #[serde(default)]
    pub queues: Vec<EntityConfig>,
    /// `[[topics]]` tables.
    #[serde(default)]
    pub topics: Vec<TopicConfig>,
}

/// A topic and its subscriptions; options left out take [`TopicOptions::default`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// The topic's name.
    pub name: String,
    /// See [`TopicOptions::default_message_time_to_live`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_message_time_to_live: Option<HumaneDuration>,
    /// See [`TopicOptions::max_size_bytes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_bytes: Option<u64>,
    /// The same limit in MiB; give this or `max_size_bytes`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_in_megabytes: Option<u64>,
    /// See [`TopicOptions::requires_duplicate_detection`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_duplicate_detection: Option<bool>,
    /// See [`TopicOptions::duplicate_detection_history_time_window`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_detection_history_time_window: Option<HumaneDuration>,
    /// See [`TopicOptions::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EntityStatus>,
    /// See [`TopicOptions::auto_delete_on_idle`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete_on_idle: Option<HumaneDuration>,
    /// `[[topics.subscriptions]]` tables.
    #[serde(default)]
    pub subscriptions: Vec<EntityConfig>,
}

impl TopicConfig {
    /// The options this table describes, defaults filled in.
    pub fn options(&self) -> TopicOptions {
        let d = TopicOptions::default();
        TopicOptions {
            default_message_time_to_live: self
                .default_message_time_to_live
                .map_or(d.default_message_time_to_live, |v| v.0),
            max_size_bytes: size(self.max_size_bytes, self.max_size_in_megabytes)
                .unwrap_or(d.max_size_bytes),
            requires_duplicate_detection: self
                .requires_duplicate_detection
                .unwrap_or(d.requires_duplicate_detection),
            duplicate_detection_history_time_window: self
                .duplicate_detection_history_time_window
                .map_or(d.duplicate_detection_history_time_window, |v| v.0),
            status: self.status.unwrap_or(d.status),
            auto_delete_on_idle: self.auto_delete_on_idle.map_or(d.auto_delete_on_idle, |v| v.0),
        }
    }
}

fn size(bytes: Option<u64>, megabytes: Option<u64>) -> Option<u64> {
    bytes.or(megabytes.map(|mb| mb.saturating_mul(1 << 20)))
}

/// A queue or a subscription; fields left out take [`EntityOptions::default`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntityConfig {
    /// The queue's or subscription's name.
    pub name: String,
    /// See [`EntityOptions::requires_session`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_session: Option<bool>,
    /// See [`EntityOptions::lock_duration`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lock_duration: Option<HumaneDuration>,
    /// See [`EntityOptions::max_delivery_count`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delivery_count: Option<u32>,
    /// See [`EntityOptions::default_message_time_to_live`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_message_time_to_live: Option<HumaneDuration>,
    /// See [`EntityOptions::dead_lettering_on_message_expiration`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dead_lettering_on_message_expiration: Option<bool>,
    /// See [`EntityOptions::max_size_bytes`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_bytes: Option<u64>,
    /// The same limit in MiB, under Service Bus's name (`maxSizeInMegabytes`: 1024 = 1 GiB);
    /// give this or `max_size_bytes`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size_in_megabytes: Option<u64>,
    /// See [`EntityOptions::requires_duplicate_detection`] (queues only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_duplicate_detection: Option<bool>,
    /// See [`EntityOptions::duplicate_detection_history_time_window`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_detection_history_time_window: Option<HumaneDuration>,
    /// See [`EntityOptions::forward_to`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_to: Option<String>,
    /// See [`EntityOptions::forward_dead_lettered_messages_to`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forward_dead_lettered_messages_to: Option<String>,
    /// See [`EntityOptions::status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<EntityStatus>,
    /// See [`EntityOptions::auto_delete_on_idle`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_delete_on_idle: Option<HumaneDuration>,
    /// A subscription's rules (`[[topics.subscriptions.rules]]`); left out: `$Default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleConfig>>,
}

impl EntityConfig {
    /// The options this table describes, defaults filled in.
    pub fn options(&self) -> EntityOptions {
        let d = EntityOptions::default();
        EntityOptions {
            requires_session: self.requires_session.unwrap_or(d.requires_session),
            lock_duration: self.lock_duration.map_or(d.lock_duration, |v| v.0),
            max_delivery_count: self.max_delivery_count.unwrap_or(d.max_delivery_count),
            default_message_time_to_live: self
                .default_message_time_to_live
                .map_or(d.default_message_time_to_live, |v| v.0),
            dead_lettering_on_message_expiration: self
                .dead_lettering_on_message_expiration
                .unwrap_or(d.dead_lettering_on_message_expiration),
            max_size_bytes: size(self.max_size_bytes, self.max_size_in_megabytes)
                .unwrap_or(d.max_size_bytes),
            requires_duplicate_detection: self
                .requires_duplicate_detection
                .unwrap_or(d.requires_duplicate_detection),
            duplicate_detection_history_time_window: self
                .duplicate_detection_history_time_window
                .map_or(d.duplicate_detection_history_time_window, |v| v.0),
            forward_to: self.forward_to.clone(),
            forward_dead_lettered_messages_to: self.forward_dead_lettered_messages_to.clone(),
            status: self.status.unwrap_or(d.status),
            auto_delete_on_idle: self.auto_delete_on_idle.map_or(d.auto_delete_on_idle, |v| v.0),
        }
    }

    /// The subscription's rules (`None`: `$Default`).
    pub fn rule_set(&self) -> Result<Option<RuleSet>, EntityError> {
        rule_set_or_error(self.rules.as_deref())
    }

    /// Settings that contradict each other (the text names the entity).
    fn check(&self) -> Result<(), String> {
        if self.max_size_bytes.is_some() && self.max_size_in_megabytes.is_some() {
            return Err(format!(
                "`{}`: give max_size_bytes or max_size_in_megabytes, not both",
                self.name
            ));
        }
        Ok(())
    }
}

impl EntitiesConfig {
    /// Parses TOML text (errors carry the line and column).
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let config: Self = toml::from_str(text).map_err(|e| e.to_string())?;
        let subscriptions = config.topics.iter().flat_map(|t| &t.subscriptions);
        for entity in config.queues.iter().chain(subscriptions.clone()) {
            entity.check()?;
        }
        for topic in &config.topics {
            if topic.max_size_bytes.is_some() && topic.max_size_in_megabytes.is_some() {
                return Err(format!(
                    "`{}`: give max_size_bytes or max_size_in_megabytes, not both",
                    topic.name
                ));
            }
        }
        if let Some(queue) = config.queues.iter().find(|q| q.rules.is_some()) {
            return Err(format!(
                "`{}`: rules belong to topic subscriptions, not queues",
                queue.name
            ));
        }
        for s in subscriptions {
            rule_set(s.rules.as_deref()).map_err(|e| format!("`{}`: {e}", s.name))?;
        }
        Ok(config)
    }
}
