//! The one place that maps a [`Settlement`] onto what Service Bus understands (doc E.1):
//!
//! | Settlement | on the receive link (disposition) | `update-disposition` status |
//! |---|---|---|
//! | complete | `accepted` | `completed` |
//! | abandon | `modified{delivery-failed: true, undeliverable-here: false, annotations}` | `abandoned` |
//! | defer | `modified{undeliverable-here: true, annotations}` | `defered` (sic) |
//! | dead-letter | `rejected{error{com.microsoft:dead-letter, description, info{DeadLetterReason, DeadLetterErrorDescription, …}}}` | `suspended` |
//!
//! `annotations` are the `properties_to_modify`; Service Bus applies them to the message's
//! application properties. Peek-lock links use `rcv-settle-mode=second`, so each
//! disposition goes out unsettled and the broker answers with a settled one.

use berth::Settlement;
use fe2o3_amqp::link::receiver::TerminalDeliveryState;
use fe2o3_amqp_types::definitions::{self, ErrorCondition};
use fe2o3_amqp_types::messaging::{Accepted, Modified, Rejected};
use fe2o3_amqp_types::primitives::{Array, OrderedMap, Symbol, Uuid, Value};

use super::{convert, property_value};

/// The error condition of a dead-letter rejection.
pub(crate) const DEAD_LETTER: &str = "com.microsoft:dead-letter";

/// The outcome to put in the disposition for `settlement`.
pub(crate) fn outcome(settlement: &Settlement) -> TerminalDeliveryState {
    match settlement {
        Settlement::Complete => TerminalDeliveryState::Accepted(Accepted {}),
        Settlement::Abandon {
            properties_to_modify,
        } => TerminalDeliveryState::Modified(Modified {
            delivery_failed: Some(true),
            undeliverable_here: Some(false),
            message_annotations: non_empty(properties_to_modify),
        }),
        Settlement::Defer {
            properties_to_modify,
        } => TerminalDeliveryState::Modified(Modified {
            delivery_failed: None,
            undeliverable_here: Some(true),
            message_annotations: non_empty(properties_to_modify),
        }),
        Settlement::DeadLetter {
            reason,
            description,
            properties_to_modify,
        } => {
            let mut info = convert::fields(properties_to_modify);
            info.insert(
                property_value::symbol("DeadLetterReason"),
                Value::String(reason.clone()),
            );
            info.insert(
                property_value::symbol("DeadLetterErrorDescription"),
                Value::String(description.clone()),
            );
            TerminalDeliveryState::Rejected(Rejected {
                error: Some(definitions::Error::new(
                    ErrorCondition::Custom(Symbol::from(DEAD_LETTER)),
                    Some(description.clone()),
                    Some(info),
                )),
            })
        }
    }
}

fn non_empty(properties: &berth::ApplicationPropertyMap) -> Option<definitions::Fields> {
    (!properties.is_empty()).then(|| convert::fields(properties))
}

/// The `disposition-status` of `com.microsoft:update-disposition`.
pub(crate) fn disposition_status(settlement: &Settlement) -> &'static str {
    match settlement {
        Settlement::Complete => "completed",
        Settlement::Abandon { .. } => "abandoned",
        // Misspelt identically by every SDK and the service.
        Settlement::Defer { .. } => "defered",
        Settlement::DeadLetter { .. } => "suspended",
    }
}

/// The request body of `com.microsoft:update-disposition` for one lock token (RFC order).
pub(crate) fn update_disposition_body(
    settlement: &Settlement,
    lock_token: [u8; 16],
    session_id: Option<&str>,
) -> OrderedMap<Value, Value> {
    let mut body = OrderedMap::new();
    let key = |k: &str| Value::String(k.to_owned());
    body.insert(
        key("disposition-status"),
        Value::String(disposition_status(settlement).to_owned()),
    );
    body.insert(
        key("lock-tokens"),
        Value::Array(Array::from(vec![Value::Uuid(Uuid::from(lock_token))])),
    );
    if let Some(id) = session_id {
        body.insert(key("session-id"), Value::String(id.to_owned()));
    }
    let properties = match settlement {
        Settlement::Complete => None,
        Settlement::Abandon {
            properties_to_modify,
        }
        | Settlement::Defer {
            properties_to_modify,
        } => Some(properties_to_modify),
        Settlement::DeadLetter {
            reason,
            description,
            properties_to_modify,
        } => {
            body.insert(key("deadletter-reason"), Value::String(reason.clone()));
            body.insert(
                key("deadletter-description"),
                Value::String(description.clone()),
            );
            Some(properties_to_modify)
        }
    };
    if let Some(properties) = properties.filter(|p| !p.is_empty()) {
        let map = properties
            .iter()
            .map(|(k, v)| (key(k), property_value::to_value(v)))
            .collect();
        body.insert(key("properties-to-modify"), Value::Map(map));
    }
    body
}

#[cfg(test)]
#[path = "settle_tests.rs"]
mod tests;
