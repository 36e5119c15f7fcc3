//! The one place that decides how an invocation's result settles its message.

use berth::host::Outcome;
use berth::Settlement;

use super::dispatch::InvocationResult;
use crate::ops::InvocationOutcome;

/// What the host does with the message after an invocation.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Settle it this way.
    Settle(Settlement),
    /// The handler settled it through `MessageActions`; nothing to do.
    SettledByHandler,
}

/// Decides the settlement: extractor rejection → dead-letter with its reason; `Ok` →
/// complete (when auto-complete) or abandon (when the handler forgot to settle); an
/// explicit `Settlement` → that; an `Err` not worth retrying
/// (`HandlerError::dead_letter`) → dead-letter with its reason and text; any other `Err` or
/// a panic → abandon. A message the handler already settled is left alone.
pub fn decide(
    result: &InvocationResult,
    auto_complete: bool,
    settled_by_handler: bool,
) -> Decision {
    if settled_by_handler {
        return Decision::SettledByHandler;
    }
    let settlement = match result {
        InvocationResult::Rejected(rejection) => {
            Settlement::dead_letter(rejection.reason, rejection.description.clone())
        }
        InvocationResult::Returned(Outcome::Done) if auto_complete => Settlement::Complete,
        InvocationResult::Returned(Outcome::Done) => Settlement::abandon(),
        InvocationResult::Returned(Outcome::Settle(settlement)) => settlement.clone(),
        InvocationResult::Returned(Outcome::Failed(error)) if !retryable(result) => {
            let reason = error.dead_letter_reason().unwrap_or_default();
            Settlement::dead_letter(reason, error.to_string())
        }
        InvocationResult::Returned(Outcome::Failed(_)) | InvocationResult::Panicked(_) => {
            Settlement::abandon()
        }
    };
    Decision::Settle(settlement)
}

/// Whether the handler failed (error or panic) in a way worth retrying, as opposed to
/// being refused, succeeding, or failing with an error marked to dead-letter at once.
pub fn retryable(result: &InvocationResult) -> bool {
    match result {
        InvocationResult::Returned(Outcome::Failed(error)) => error.dead_letter_reason().is_none(),
        InvocationResult::Panicked(_) => true,
        InvocationResult::Returned(_) | InvocationResult::Rejected(_) => false,
    }
}

/// The outcome as counted.
pub fn outcome(result: &InvocationResult) -> InvocationOutcome {
    match result {
        InvocationResult::Rejected(_) => InvocationOutcome::Rejected,
        InvocationResult::Returned(Outcome::Done) => InvocationOutcome::Ok,
        InvocationResult::Returned(Outcome::Settle(_)) => InvocationOutcome::Settled,
        InvocationResult::Returned(Outcome::Failed(_)) => InvocationOutcome::Error,
        InvocationResult::Panicked(_) => InvocationOutcome::Panic,
    }
}

/// The outcome's name as logged: `ok`, `settled`, `error`, `panic`, `rejected`.
pub fn outcome_name(result: &InvocationResult) -> &'static str {
    match result {
        InvocationResult::Rejected(_) => "rejected",
        InvocationResult::Returned(Outcome::Done) => "ok",
        InvocationResult::Returned(Outcome::Settle(_)) => "settled",
        InvocationResult::Returned(Outcome::Failed(_)) => "error",
        InvocationResult::Panicked(_) => "panic",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth::{HandlerError, Rejection};

    #[test]
    fn ok_completes_only_with_auto_complete() {
        let done = InvocationResult::Returned(Outcome::Done);
        assert_eq!(
            decide(&done, true, false),
            Decision::Settle(Settlement::Complete)
        );
        assert_eq!(
            decide(&done, false, false),
            Decision::Settle(Settlement::abandon())
        );
        assert_eq!(decide(&done, true, true), Decision::SettledByHandler);
    }

    #[test]
    fn failures_abandon_and_rejections_dead_letter() {
        let failed = InvocationResult::Returned(Outcome::Failed(HandlerError::msg("boom")));
        assert_eq!(
            decide(&failed, true, false),
            Decision::Settle(Settlement::abandon())
        );
        let panicked = InvocationResult::Panicked("oops".into());
        assert_eq!(
            decide(&panicked, true, false),
            Decision::Settle(Settlement::abandon())
        );
        let rejected = InvocationResult::Rejected(Rejection::new("DeserializationFailed", "bad"));
        assert_eq!(
            decide(&rejected, true, false),
            Decision::Settle(Settlement::dead_letter("DeserializationFailed", "bad"))
        );
    }

    #[test]
    fn an_error_marked_to_dead_letter_is_dead_lettered_at_once() {
        let error = HandlerError::dead_letter("InvalidOrder", "no lines");
        let failed = InvocationResult::Returned(Outcome::Failed(error));
        assert!(!retryable(&failed));
        assert_eq!(
            decide(&failed, true, false),
            Decision::Settle(Settlement::dead_letter("InvalidOrder", "no lines"))
        );
        let plain = InvocationResult::Returned(Outcome::Failed(HandlerError::msg("boom")));
        assert!(retryable(&plain));
        assert!(retryable(&InvocationResult::Panicked("oops".into())));
    }

    #[test]
    fn explicit_settlement_wins_over_auto_complete() {
        let deferred = InvocationResult::Returned(Outcome::Settle(Settlement::defer()));
        assert_eq!(
            decide(&deferred, true, false),
            Decision::Settle(Settlement::defer())
        );
    }
}
