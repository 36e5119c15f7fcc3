//! An entity's description and runtime properties in the admin JSON, under the names and with
//! the values Service Bus's administration clients use (the Python SDK's snake_case names of
//! `QueueProperties`, `TopicProperties`, `SubscriptionProperties` and their
//! `*RuntimeProperties`). Every option Azure has is reported: those Berth implements with their
//! value, the others with Azure's default, which is also how Berth behaves (no partitioning, no
//! express entities, batched operations on, 256 KiB messages as the Standard tier). The status
//! is the entity's live one.

use serde_json::{json, Value};

use crate::iso8601::{duration, timestamp};
use crate::entity::{EntityOptions, MessageCountDetails, RuntimeProperties, TopicOptions};

/// The Standard tier's message size limit, in KiB.
const MAX_MESSAGE_SIZE_KB: u64 = 256;

/// The options of a queue (`subscription == false`) or subscription, as Azure's description.
pub(super) fn description(o: &EntityOptions, subscription: bool) -> Value {
    let mut value = json!({
        "lock_duration": duration(o.lock_duration),
        "requires_session": o.requires_session,
        "default_message_time_to_live": duration(o.default_message_time_to_live),
        "dead_lettering_on_message_expiration": o.dead_lettering_on_message_expiration,
        "max_delivery_count": o.max_delivery_count,
        "enable_batched_operations": true,
        "user_metadata": Value::Null,
    });
    merge(
        &mut value,
        json!({
            "requires_duplicate_detection": o.requires_duplicate_detection,
            "duplicate_detection_history_time_window": duration(o.duplicate_detection_history_time_window),
            "status": o.status.as_str(),
            "forward_to": o.forward_to,
            "forward_dead_lettered_messages_to": o.forward_dead_lettered_messages_to,
            "auto_delete_on_idle": duration(o.auto_delete_on_idle),
        }),
    );
    let extra = if subscription {
        json!({ "dead_lettering_on_filter_evaluation_exceptions": true })
    } else {
        json!({
            "max_size_in_megabytes": o.max_size_bytes >> 20,
            "enable_partitioning": false,
            "enable_express": false,
            "max_message_size_in_kilobytes": MAX_MESSAGE_SIZE_KB,
            "authorization_rules": [],
        })
    };
    merge(&mut value, extra);
    value
}

/// A topic's description (topics do not forward).
pub(super) fn topic_description(o: &TopicOptions) -> Value {
    json!({
        "default_message_time_to_live": duration(o.default_message_time_to_live),
        "max_size_in_megabytes": o.max_size_bytes >> 20,
        "requires_duplicate_detection": o.requires_duplicate_detection,
        "duplicate_detection_history_time_window": duration(o.duplicate_detection_history_time_window),
        "status": o.status.as_str(),
        "auto_delete_on_idle": duration(o.auto_delete_on_idle),
        "enable_batched_operations": true,
        "support_ordering": true,
        "enable_partitioning": false,
        "enable_express": false,
        "filtering_messages_before_publishing": false,
        "max_message_size_in_kilobytes": MAX_MESSAGE_SIZE_KB,
        "user_metadata": Value::Null,
        "authorization_rules": [],
    })
}

fn merge(value: &mut Value, extra: Value) {
    if let (Some(map), Value::Object(extra)) = (value.as_object_mut(), extra) {
        map.extend(extra);
    }
}

/// Runtime properties under the SDKs' names; times as Azure writes them.
pub(super) fn runtime(r: &RuntimeProperties) -> Value {
    match r {
        RuntimeProperties::Queue(q) => {
            let mut value = json!({
                "created_at": timestamp(Some(q.created_at)),
                "updated_at": timestamp(Some(q.updated_at)),
                "accessed_at": timestamp(q.accessed_at),
                "size_in_bytes": q.size_in_bytes,
            });
            merge(&mut value, counts(&q.counts));
            merge(
                &mut value,
                json!({"scheduled_message_count": q.counts.scheduled}),
            );
            value
        }
        RuntimeProperties::Subscription(s) => {
            let mut value = json!({
                "created_at": timestamp(Some(s.created_at)),
                "updated_at": timestamp(Some(s.updated_at)),
                "accessed_at": timestamp(s.accessed_at),
            });
            merge(&mut value, counts(&s.counts));
            value
        }
        RuntimeProperties::Topic(t) => json!({
            "created_at": timestamp(Some(t.created_at)),
            "updated_at": timestamp(Some(t.updated_at)),
            "accessed_at": timestamp(t.accessed_at),
            "size_in_bytes": t.size_in_bytes,
            "subscription_count": t.subscription_count,
            "scheduled_message_count": t.scheduled_message_count,
        }),
    }
}

fn counts(c: &MessageCountDetails) -> Value {
    json!({
        "total_message_count": c.total(),
        "active_message_count": c.active,
        "dead_letter_message_count": c.dead_letter,
        "transfer_message_count": c.transfer,
        "transfer_dead_letter_message_count": c.transfer_dead_letter,
    })
}
