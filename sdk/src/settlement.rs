//! What happens to a message after its invocation.

use crate::message::ApplicationPropertyMap;

/// The outcome a handler asks for. Returned from a handler, or applied through
/// `MessageActions` when `auto_complete = false`.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn triage(body: String) -> Settlement {
///     match body.as_str() {
///         "" => Settlement::dead_letter("EmptyBody", "the order has no body"),
///         "tomorrow" => Settlement::defer(),
///         "retry" => Settlement::abandon(),
///         _ => Settlement::Complete,
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert_eq!(triage("tomorrow".into()).await, Settlement::defer());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Settlement {
    /// Remove the message: it was processed.
    Complete,
    /// Unlock the message so it is delivered again (its delivery count grows; the broker
    /// dead-letters it after the entity's max delivery count).
    Abandon {
        /// Application properties to set on the message before it is redelivered.
        properties_to_modify: ApplicationPropertyMap,
    },
    /// Set the message aside; it can be received later only by its sequence number.
    Defer {
        /// Application properties to set on the deferred message.
        properties_to_modify: ApplicationPropertyMap,
    },
    /// Move the message to the entity's dead-letter queue.
    DeadLetter {
        /// Short machine-readable reason (`DeadLetterReason`).
        reason: String,
        /// Human-readable description (`DeadLetterErrorDescription`).
        description: String,
        /// Application properties to set on the dead-lettered message.
        properties_to_modify: ApplicationPropertyMap,
    },
}

impl Settlement {
    /// Abandon without modifying properties.
    pub fn abandon() -> Self {
        Settlement::Abandon {
            properties_to_modify: ApplicationPropertyMap::new(),
        }
    }

    /// Defer without modifying properties.
    pub fn defer() -> Self {
        Settlement::Defer {
            properties_to_modify: ApplicationPropertyMap::new(),
        }
    }

    /// Dead-letter with a reason and a description.
    pub fn dead_letter(reason: impl Into<String>, description: impl Into<String>) -> Self {
        Settlement::DeadLetter {
            reason: reason.into(),
            description: description.into(),
            properties_to_modify: ApplicationPropertyMap::new(),
        }
    }

    /// The settlement's name as logged: `complete`, `abandon`, `defer`, `dead_letter`.
    pub fn name(&self) -> &'static str {
        match self {
            Settlement::Complete => "complete",
            Settlement::Abandon { .. } => "abandon",
            Settlement::Defer { .. } => "defer",
            Settlement::DeadLetter { .. } => "dead_letter",
        }
    }
}
