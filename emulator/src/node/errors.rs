//! Errors as Service Bus sends them: condition, description, and an `info` map with a
//! `com.microsoft:tracking-id`. The info map matters: Python's pyamqp reads the rejected
//! outcome's error as a three-field list and fails (hanging the send) if `info` is left out.

use fe2o3_amqp_types::primitives::Value;

use crate::amqp::ErrorInfo;
use crate::entity::{EntityError, LockToken};

/// An error with `condition`, `text` and a fresh tracking id.
pub fn service_error(condition: &str, text: &str) -> ErrorInfo {
    let tracking_id = LockToken::random().to_string();
    ErrorInfo::new(condition, format!("{text} TrackingId:{tracking_id}"))
        .with_info("com.microsoft:tracking-id", Value::String(tracking_id))
}

/// `text` followed by a fresh ` TrackingId:…`, as Service Bus ends its error texts.
pub fn with_tracking_id(text: &str) -> String {
    format!("{text} TrackingId:{}", LockToken::random())
}

/// The Service Bus error for an entity-layer failure.
pub fn entity_error(error: &EntityError) -> ErrorInfo {
    service_error(error.condition(), &error.to_string())
}
