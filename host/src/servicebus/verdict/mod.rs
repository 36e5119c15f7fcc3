//! Settlements are known, not assumed: the broker's verdict on each disposition.
//!
//! Peek-lock links run `rcv-settle-mode=second`: the host's disposition goes out unsettled
//! and the broker answers with a settled disposition carrying its verdict (`accepted`,
//! `modified`, `rejected{error}`). fe2o3-amqp 0.18.4 drops that answer, and
//! `Receiver::dispose` returns once the frame is queued. So the host follows the broker's
//! byte stream itself: [`tap`] passes it through to fe2o3-amqp unchanged while [`frames`]
//! reads the few performatives that tell verdicts, and [`registry`] hands each verdict to
//! the receiver waiting for it. [`Pending::verdict`] turns it into the settlement's result.
//!
//! Waiters are keyed by (broker channel, delivery-id), the address the broker's disposition
//! uses, rather than by lock token: no transfer needs reading, and the key is exact even if
//! a broker reused a lock token.

mod decode;
mod frames;
#[doc(hidden)]
pub mod fuzzing;
mod registry;
mod tap;

use berth::{ErrorKind, ServiceBusError, Settlement};
use fe2o3_amqp_types::definitions;

use super::errors;
use super::settle::DEAD_LETTER;

pub(crate) use registry::{Expected, LinkWatch, Verdicts};
pub(crate) use tap::VerdictTap;

/// How long a settlement waits for the broker's verdict before its outcome counts as
/// unknown (the .NET and Java SDKs' default operation timeout).
pub(crate) const VERDICT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// What became of one disposition.
#[derive(Debug, Clone)]
pub(crate) enum Verdict {
    /// The broker settled with `accepted`.
    Accepted,
    /// The broker settled with `modified`.
    Modified,
    /// The broker settled with `released`.
    Released,
    /// The broker settled with `rejected`, with its error if any.
    Rejected(Option<definitions::Error>),
    /// No verdict: the link, session or connection ended first, the wait timed out, or the
    /// answer could not be read. Whether the settlement took effect is unknown.
    Failed(ServiceBusError),
}

/// The outcome a settlement asked for, all [`judge`] needs of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Asked {
    Accepted,
    Modified,
    Rejected,
}

/// A disposition sent whose verdict is still to come.
pub(crate) struct Pending {
    expected: Expected,
    asked: Asked,
    name: &'static str,
}

impl Pending {
    /// The wait `expected` (registered before the disposition went out) for `settlement`.
    pub fn new(expected: Expected, settlement: &Settlement) -> Self {
        Pending {
            expected,
            asked: asked(settlement),
            name: settlement.name(),
        }
    }

    /// Waits for the broker's verdict (at most [`VERDICT_TIMEOUT`]) and judges it.
    pub async fn verdict(self) -> Result<(), ServiceBusError> {
        let verdict = self.expected.wait(VERDICT_TIMEOUT).await;
        judge(self.asked, self.name, verdict)
    }
}

fn asked(settlement: &Settlement) -> Asked {
    match settlement {
        Settlement::Complete => Asked::Accepted,
        Settlement::Abandon { .. } | Settlement::Defer { .. } => Asked::Modified,
        Settlement::DeadLetter { .. } => Asked::Rejected,
    }
}

/// The result of the settlement `name` that asked for `asked`, given the broker's
/// `verdict`: `Ok` only for the outcome asked for (`accepted` for complete, `modified` for
/// abandon and defer, `rejected` without an error — or with the dead-letter condition — for
/// dead-letter).
fn judge(asked: Asked, name: &str, verdict: Verdict) -> Result<(), ServiceBusError> {
    match (asked, verdict) {
        (Asked::Accepted, Verdict::Accepted)
        | (Asked::Modified, Verdict::Modified)
        | (Asked::Rejected, Verdict::Rejected(None)) => Ok(()),
        (Asked::Rejected, Verdict::Rejected(Some(e)))
            if errors::condition_name(&e.condition) == DEAD_LETTER =>
        {
            Ok(())
        }
        (_, Verdict::Rejected(Some(e))) => Err(errors::from_amqp_error(&e)),
        (_, Verdict::Rejected(None)) => Err(ServiceBusError::new(
            ErrorKind::Other,
            format!("the broker rejected the {name} without saying why"),
        )),
        (_, Verdict::Failed(e)) => Err(e),
        (_, other) => Err(ServiceBusError::new(
            ErrorKind::Other,
            format!("the broker answered the {name} with {other:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fe2o3_amqp_types::definitions::ErrorCondition;
    use fe2o3_amqp_types::primitives::Symbol;

    fn error(condition: &str) -> Option<definitions::Error> {
        Some(definitions::Error::new(
            ErrorCondition::Custom(Symbol::from(condition)),
            Some("why".to_string()),
            None,
        ))
    }

    fn judge(settlement: &Settlement, verdict: Verdict) -> Result<(), ServiceBusError> {
        super::judge(asked(settlement), settlement.name(), verdict)
    }

    #[test]
    fn only_the_asked_outcome_is_a_success() {
        let dead_letter = Settlement::dead_letter("r", "d");
        assert!(judge(&Settlement::Complete, Verdict::Accepted).is_ok());
        assert!(judge(&Settlement::abandon(), Verdict::Modified).is_ok());
        assert!(judge(&dead_letter, Verdict::Rejected(None)).is_ok());
        assert!(judge(&dead_letter, Verdict::Rejected(error(DEAD_LETTER))).is_ok());
        let lost = judge(
            &Settlement::Complete,
            Verdict::Rejected(error(errors::SESSION_LOCK_LOST)),
        )
        .unwrap_err();
        assert_eq!(lost.kind, ErrorKind::SessionLockLost);
        let lost = judge(
            &dead_letter,
            Verdict::Rejected(error(errors::MESSAGE_LOCK_LOST)),
        )
        .unwrap_err();
        assert_eq!(lost.kind, ErrorKind::MessageLockLost);
        assert_eq!(
            judge(&Settlement::Complete, Verdict::Modified)
                .unwrap_err()
                .kind,
            ErrorKind::Other
        );
        assert!(judge(&Settlement::Complete, Verdict::Released).is_err());
        assert!(judge(&Settlement::Complete, Verdict::Rejected(None)).is_err());
        let gone = ServiceBusError::new(ErrorKind::Connection, "gone");
        assert_eq!(
            judge(&Settlement::Complete, Verdict::Failed(gone))
                .unwrap_err()
                .kind,
            ErrorKind::Connection
        );
    }
}
