//! Optional extraction: `Option<E>` and `Result<E, Rejection>` for any extractor `E`, so
//! that a handler decides itself what a message its extractor refuses comes to, instead of
//! the host dead-lettering it.

use crate::error::Rejection;
use crate::extract::FromInvocation;
use crate::invocation::Invocation;

/// `Some(E)`, or `None` when `E` refuses the message (a body that is not valid JSON for
/// `Option<Json<T>>`, no session for `Option<SessionContext>`); the handler runs either way.
/// It needs no session trigger, even when `E` does: on a non-session trigger,
/// `Option<SessionContext>` is `None`.
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Ping { seq: u64 }
///
/// #[service_bus_trigger(queue = "pings")]
/// async fn ping(ping: Option<Json<Ping>>, body: Body) -> Settlement {
///     match ping {
///         Some(Json(ping)) => {
///             let _ = ping.seq;
///             Settlement::Complete
///         }
///         // Not a ping: keep it aside for a person to look at, without an error.
///         None => Settlement::dead_letter("NotAPing", format!("{} bytes", body.0.len())),
///     }
/// }
/// # fn main() {}
/// ```
impl<E: FromInvocation> FromInvocation for Option<E> {
    const NEEDS_SESSION: bool = false;
    const NEEDS_STATE: bool = E::NEEDS_STATE;

    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(E::from_invocation(invocation).ok())
    }
}

/// `Ok(E)`, or the [`Rejection`] saying why `E` refused the message; the handler runs either
/// way. Returning the rejection with `?` dead-letters the message with its reason, as if the
/// handler had taken `E`.
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: String }
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(order: Result<Json<Order>, Rejection>) -> Result<(), HandlerError> {
///     let Json(order) = match order {
///         Ok(order) => order,
///         // Dead-letters with the rejection's reason, `DeserializationFailed`.
///         Err(rejection) => return Err(rejection.into()),
///     };
///     let _ = order.id;
///     Ok(())
/// }
/// # fn main() {}
/// ```
impl<E: FromInvocation> FromInvocation for Result<E, Rejection> {
    const NEEDS_SESSION: bool = E::NEEDS_SESSION;
    const NEEDS_STATE: bool = E::NEEDS_STATE;

    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(E::from_invocation(invocation))
    }

    /// `E`'s: the host still checks at start-up that the state `E` reads was provided (an
    /// `Option<State<T>>` accepts its absence instead).
    fn app_state_types(types: &mut Vec<crate::app_state::StateType>) {
        E::app_state_types(types);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::Json;
    use crate::message::Message;
    use crate::session::SessionContext;
    use crate::test_support::invocation;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Order {
        id: u32,
    }

    #[test]
    fn option_is_some_for_a_valid_body_and_none_for_a_malformed_one() {
        let valid = invocation(Message::with_body(r#"{"id": 7}"#));
        let got = Option::<Json<Order>>::from_invocation(&valid).unwrap();
        assert_eq!(got, Some(Json(Order { id: 7 })));
        let malformed = invocation(Message::with_body("{not json"));
        let got = Option::<Json<Order>>::from_invocation(&malformed).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn result_hands_the_rejection_to_the_handler() {
        let malformed = invocation(Message::with_body("[1, 2"));
        let got = Result::<Json<Order>, Rejection>::from_invocation(&malformed).unwrap();
        let rejection = got.unwrap_err();
        assert_eq!(rejection.reason, "DeserializationFailed");
        assert!(
            rejection.description.contains("line 1"),
            "{}",
            rejection.description
        );
        let valid = invocation(Message::with_body(r#"{"id": 1}"#));
        let got = Result::<Json<Order>, Rejection>::from_invocation(&valid).unwrap();
        assert_eq!(got, Ok(Json(Order { id: 1 })));
    }

    #[test]
    fn an_optional_session_context_needs_no_session_trigger() {
        const {
            assert!(<SessionContext as FromInvocation>::NEEDS_SESSION);
            assert!(!<Option<SessionContext> as FromInvocation>::NEEDS_SESSION);
            assert!(<Result<SessionContext, Rejection> as FromInvocation>::NEEDS_SESSION);
        }
        let without_session = invocation(Message::with_body("x"));
        let got = Option::<SessionContext>::from_invocation(&without_session).unwrap();
        assert!(got.is_none());
    }
}
