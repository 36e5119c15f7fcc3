//! fe2o3-amqp errors and Service Bus error conditions → [`ServiceBusError`].

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp::link::{
    DetachError, IllegalLinkStateError, LinkStateError, ReceiverAttachError, RecvError, SendError,
    SenderAttachError,
};
use fe2o3_amqp::session::BeginError;
use fe2o3_amqp_types::definitions::{self, ErrorCondition};
use fe2o3_amqp_types::messaging::Outcome;
use fe2o3_amqp_types::primitives::Symbol;

/// Service Bus condition: the session lock expired or was taken.
pub(crate) const SESSION_LOCK_LOST: &str = "com.microsoft:session-lock-lost";
/// Service Bus condition: the message lock expired.
pub(crate) const MESSAGE_LOCK_LOST: &str = "com.microsoft:message-lock-lost";
/// Service Bus condition: a requested session is locked by another receiver.
pub(crate) const SESSION_CANNOT_BE_LOCKED: &str = "com.microsoft:session-cannot-be-locked";
/// Service Bus condition: an operation (e.g. waiting for a next-available session) timed out.
pub(crate) const TIMEOUT: &str = "com.microsoft:timeout";

/// The condition's wire name, e.g. `amqp:not-found` or `com.microsoft:timeout`.
pub(crate) fn condition_name(condition: &ErrorCondition) -> String {
    match condition {
        ErrorCondition::AmqpError(e) => Symbol::from(e).0,
        ErrorCondition::ConnectionError(e) => Symbol::from(e).0,
        ErrorCondition::SessionError(e) => Symbol::from(e).0,
        ErrorCondition::LinkError(e) => Symbol::from(e).0,
        ErrorCondition::Custom(s) => s.0.clone(),
    }
}

/// The kind for a Service Bus error condition (as in detaches, rejected outcomes and
/// management `errorCondition`s).
pub(crate) fn kind_for_condition(condition: &str) -> ErrorKind {
    match condition {
        SESSION_LOCK_LOST => ErrorKind::SessionLockLost,
        MESSAGE_LOCK_LOST => ErrorKind::MessageLockLost,
        TIMEOUT => ErrorKind::Timeout,
        "amqp:not-found"
        | "com.microsoft:message-not-found"
        | "com.microsoft:session-not-found" => ErrorKind::NotFound,
        "amqp:link:message-size-exceeded" => ErrorKind::StateTooLarge,
        _ => ErrorKind::Other,
    }
}

/// A broker error (detach, rejected outcome) as a `ServiceBusError`.
pub(crate) fn from_amqp_error(error: &definitions::Error) -> ServiceBusError {
    let condition = condition_name(&error.condition);
    let text = match &error.description {
        Some(description) => format!("{condition}: {description}"),
        None => condition.clone(),
    };
    let kind = match kind_for_condition(&condition) {
        ErrorKind::Other if condition == "amqp:not-allowed" && is_about_sessions(&text) => {
            ErrorKind::EntityMismatch
        }
        kind => kind,
    };
    ServiceBusError::new(kind, text)
}

/// Whether a refusal's text is Service Bus' "sessionful receiver on an entity without
/// sessions" (or the reverse): both mention whether the entity requires sessions.
fn is_about_sessions(text: &str) -> bool {
    text.contains("requires sessions") || text.contains("require sessions")
}

/// Whether `error` came from the broker with `condition` (see [`from_amqp_error`]).
pub(crate) fn has_condition(error: &ServiceBusError, condition: &str) -> bool {
    error
        .message
        .strip_prefix(condition)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))
}

/// A link-state failure: the broker's condition when it gave one, a connection failure when
/// the session or connection stopped, else "the broker closed the link".
pub(crate) fn from_link_state(error: &LinkStateError) -> ServiceBusError {
    match error {
        LinkStateError::RemoteDetachedWithError(e) | LinkStateError::RemoteClosedWithError(e) => {
            from_amqp_error(e)
        }
        LinkStateError::SessionStopped(reason) => ServiceBusError::new(
            ErrorKind::Connection,
            format!("the AMQP session or connection stopped: {reason:?}"),
        ),
        other => ServiceBusError::new(
            ErrorKind::Connection,
            format!("the broker closed the link: {other}"),
        ),
    }
}

/// A receive failure.
pub(crate) fn from_recv(error: &RecvError) -> ServiceBusError {
    match error {
        RecvError::LinkStateError(e) => from_link_state(e),
        other => ServiceBusError::new(ErrorKind::Other, format!("receiving failed: {other}")),
    }
}

/// A disposition or flow that could not be sent.
pub(crate) fn from_link_io(error: &IllegalLinkStateError) -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Connection,
        format!("the link can no longer send frames: {error}"),
    )
}

/// A send failure.
pub(crate) fn from_send(error: &SendError) -> ServiceBusError {
    match error {
        SendError::LinkStateError(e) => from_link_state(e),
        SendError::Detached(DetachError::RemoteDetachedWithError(e))
        | SendError::Detached(DetachError::RemoteClosedWithError(e)) => from_amqp_error(e),
        SendError::MessageSizeExceeded(e) => ServiceBusError::new(
            ErrorKind::Other,
            format!("the message is larger than the entity accepts: {e}"),
        ),
        other => ServiceBusError::new(ErrorKind::Other, format!("sending failed: {other}")),
    }
}

/// The error in a send outcome: `None` when the broker accepted `what` (a message, a request).
pub(crate) fn from_outcome(
    outcome: Result<Outcome, SendError>,
    what: &str,
) -> Option<ServiceBusError> {
    match outcome {
        Ok(Outcome::Accepted(_)) => None,
        Ok(Outcome::Rejected(rejected)) => Some(match rejected.error {
            Some(e) => from_amqp_error(&e),
            None => {
                ServiceBusError::new(ErrorKind::Other, format!("the broker rejected the {what}"))
            }
        }),
        Ok(other) => Some(ServiceBusError::new(
            ErrorKind::Other,
            format!("the broker did not accept the {what}: {other:?}"),
        )),
        Err(e) => Some(from_send(&e)),
    }
}

/// A receiver attach failure.
pub(crate) fn from_receiver_attach(error: &ReceiverAttachError) -> ServiceBusError {
    match error {
        ReceiverAttachError::RemoteClosedWithError(e) => from_amqp_error(e),
        ReceiverAttachError::SessionStopped(reason) => ServiceBusError::new(
            ErrorKind::Connection,
            format!("the AMQP session stopped while attaching: {reason:?}"),
        ),
        other => ServiceBusError::new(ErrorKind::Other, format!("attaching failed: {other}")),
    }
}

/// A sender attach failure.
pub(crate) fn from_sender_attach(error: &SenderAttachError) -> ServiceBusError {
    match error {
        SenderAttachError::RemoteClosedWithError(e) => from_amqp_error(e),
        SenderAttachError::SessionStopped(reason) => ServiceBusError::new(
            ErrorKind::Connection,
            format!("the AMQP session stopped while attaching: {reason:?}"),
        ),
        other => ServiceBusError::new(ErrorKind::Other, format!("attaching failed: {other}")),
    }
}

/// A session that could not begin: the connection is gone.
pub(crate) fn from_begin(error: &BeginError) -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Connection,
        format!("could not begin an AMQP session: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp_types::definitions::AmqpError;

    #[test]
    fn service_bus_conditions_map_to_kinds() {
        let lost = definitions::Error::new(
            ErrorCondition::Custom(Symbol::from(SESSION_LOCK_LOST)),
            Some("The session lock has expired".to_string()),
            None,
        );
        let e = from_link_state(&LinkStateError::RemoteClosedWithError(lost));
        assert_eq!(e.kind, ErrorKind::SessionLockLost);
        assert_eq!(
            e.message,
            "com.microsoft:session-lock-lost: The session lock has expired"
        );
        let not_found = definitions::Error::new(AmqpError::NotFound, None, None);
        assert_eq!(from_amqp_error(&not_found).kind, ErrorKind::NotFound);
        assert_eq!(from_amqp_error(&not_found).message, "amqp:not-found");
        assert_eq!(
            kind_for_condition(MESSAGE_LOCK_LOST),
            ErrorKind::MessageLockLost
        );
        assert_eq!(kind_for_condition(TIMEOUT), ErrorKind::Timeout);
        assert_eq!(kind_for_condition("amqp:internal-error"), ErrorKind::Other);
        assert_eq!(
            from_link_state(&LinkStateError::RemoteClosed).kind,
            ErrorKind::Connection
        );
    }

    #[test]
    fn a_receiver_refused_for_its_session_kind_is_an_entity_mismatch() {
        let refusal = |text: &str| {
            from_amqp_error(&definitions::Error::new(
                AmqpError::NotAllowed,
                Some(text.to_owned()),
                None,
            ))
        };
        let texts = [
            "It is not possible for an entity that requires sessions to create a non-sessionful message receiver.",
            "A sessionful message receiver cannot be created on an entity that does not require sessions.",
        ];
        for text in texts {
            assert_eq!(refusal(text).kind, ErrorKind::EntityMismatch, "{text}");
        }
        assert_eq!(
            refusal("Cannot create a message sender for a subscription").kind,
            ErrorKind::Other
        );
    }
}
