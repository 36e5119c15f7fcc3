//! Extractors: the types a handler may take as arguments.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::actions::MessageActions;
use crate::app_state::StateType;
use crate::error::Rejection;
use crate::invocation::Invocation;
use crate::message::{ApplicationPropertyMap, Message};
use crate::session::SessionContext;

/// A type a handler can take as an argument, built from the invocation before the handler
/// runs. When it cannot be built, the message is dead-lettered with the rejection's reason
/// and description, and the session continues (take it as `Option<E>` or
/// `Result<E, Rejection>` to decide yourself).
///
/// Besides the types of this crate, `String` (the body as UTF-8 text; a body that is not
/// UTF-8 dead-letters the message with reason `InvalidUtf8`) and [`CancellationToken`]
/// (fires on shutdown or session lock loss) are extractors:
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "greetings")]
/// async fn greet(text: String, cancel: CancellationToken) -> Result<(), HandlerError> {
///     if cancel.is_cancelled() {
///         return Err(HandlerError::msg("shutting down; the message comes back"));
///     }
///     assert_eq!(text, "hello");
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// greet("hello".to_owned(), CancellationToken::new()).await.unwrap();
/// # }
/// ```
///
/// Your own extractor reads the [`Invocation`]:
///
/// ```
/// use berth::prelude::*;
/// use berth::{FromInvocation, Invocation};
///
/// /// The tenant named by the `tenant` application property.
/// struct Tenant(String);
///
/// impl FromInvocation for Tenant {
///     fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
///         invocation.message().application_properties.get("tenant")
///             .and_then(|value| value.as_str())
///             .map(|tenant| Tenant(tenant.to_owned()))
///             .ok_or_else(|| Rejection::new("TenantMissing", "no `tenant` property"))
///     }
/// }
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(Tenant(tenant): Tenant, body: String) {
///     let _ = (tenant, body);
/// }
/// # fn main() {}
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a Service Bus function",
    label = "not an extractor",
    note = "handler arguments must be extractors: `Message`, `Json<T>`, `Body`, `String`, `SessionId`, `DeliveryCount`, `ApplicationProperties`, `SessionContext`, `SessionState<T>`, `State<T>`, `MessageActions`, `CancellationToken` or `TraceContext`, or `Option<E>` / `Result<E, Rejection>` of one",
    note = "to read the body as your own type, derive `serde::Deserialize` and take `Json<YourType>`"
)]
pub trait FromInvocation: Sized {
    /// Whether this extractor needs a session trigger; the host refuses to start a
    /// non-session function that takes one.
    const NEEDS_SESSION: bool = false;

    /// Whether this extractor reads the typed session state; the host then loads the state
    /// when it accepts a session and writes it back after each successful invocation.
    const NEEDS_STATE: bool = false;

    /// Builds the argument, or says why it cannot.
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection>;

    /// Adds the application state types this extractor reads ([`State<T>`](crate::State)),
    /// which the host checks are provided before it starts.
    fn app_state_types(types: &mut Vec<StateType>) {
        let _ = types;
    }
}

impl FromInvocation for Message {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(invocation.message().clone())
    }
}

/// The body deserialized from JSON. Invalid JSON dead-letters the message with reason
/// `DeserializationFailed` and the serde error (with line and column) as description
/// (`Option<Json<T>>` gives `None` instead, `Result<Json<T>, Rejection>` the rejection).
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: String, cents: i64 }
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(Json(order): Json<Order>) -> Result<(), HandlerError> {
///     if order.cents < 0 {
///         return Err(HandlerError::dead_letter("NegativeAmount", order.id));
///     }
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let order: Order = serde_json::from_str(r#"{"id": "o-1", "cents": 250}"#).unwrap();
/// place(Json(order)).await.unwrap();
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned> FromInvocation for Json<T> {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        serde_json::from_slice(&invocation.message().body)
            .map(Json)
            .map_err(|e| {
                Rejection::new(
                    "DeserializationFailed",
                    format!(
                        "the body is not a valid JSON `{}`: {e}",
                        short_type_name::<T>()
                    ),
                )
            })
    }
}

/// The body as bytes, as sent.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "images")]
/// async fn store(Body(bytes): Body) {
///     assert!(bytes.starts_with(b"\x89PNG"));
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// store(Body(bytes::Bytes::from_static(b"\x89PNG..."))).await;
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body(pub Bytes);

impl FromInvocation for Body {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(Body(invocation.message().body.clone()))
    }
}

/// The body as UTF-8 text; a body that is not UTF-8 dead-letters the message with reason
/// `InvalidUtf8`.
impl FromInvocation for String {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        String::from_utf8(invocation.message().body.to_vec()).map_err(|e| {
            Rejection::new(
                "InvalidUtf8",
                format!("the body is not valid UTF-8: {}", e.utf8_error()),
            )
        })
    }
}

/// The message's session id. On a non-session trigger, a message without one is
/// dead-lettered with reason `SessionIdMissing` (take `Option<SessionId>` to accept both).
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "customer-orders", sessions = true)]
/// async fn add(SessionId(customer): SessionId, body: String) {
///     let _ = (customer, body);
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// add(SessionId("customer-7".into()), "{}".into()).await;
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionId(pub String);

impl FromInvocation for SessionId {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        invocation
            .message()
            .session_id
            .clone()
            .map(SessionId)
            .ok_or_else(|| Rejection::new("SessionIdMissing", "the message has no session id"))
    }
}

impl std::fmt::Display for SessionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How many times the message has been delivered, this delivery included (1 on first).
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "payments")]
/// async fn pay(DeliveryCount(count): DeliveryCount) -> Result<(), HandlerError> {
///     if count > 3 {
///         return Err(HandlerError::dead_letter("GaveUp", format!("{count} deliveries")));
///     }
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let error = pay(DeliveryCount(4)).await.unwrap_err();
/// assert_eq!(error.dead_letter_reason(), Some("GaveUp"));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DeliveryCount(pub u32);

impl FromInvocation for DeliveryCount {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(DeliveryCount(invocation.message().delivery_count))
    }
}

/// The message's application properties, as the sender set them.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "events")]
/// async fn route(ApplicationProperties(properties): ApplicationProperties) -> Settlement {
///     match properties.get("kind").and_then(|kind| kind.as_str()) {
///         Some("audit") => Settlement::defer(),
///         _ => Settlement::Complete,
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let message = Message::with_body("{}").property("kind", "audit");
/// let settlement = route(ApplicationProperties(message.application_properties)).await;
/// assert_eq!(settlement, Settlement::defer());
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplicationProperties(pub ApplicationPropertyMap);

impl FromInvocation for ApplicationProperties {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(ApplicationProperties(
            invocation.message().application_properties.clone(),
        ))
    }
}

impl FromInvocation for SessionContext {
    const NEEDS_SESSION: bool = true;

    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        invocation.session().cloned().ok_or_else(|| {
            Rejection::new(
                "SessionContextUnavailable",
                "`SessionContext` is only available to session triggers (sessions = true)",
            )
        })
    }
}

impl FromInvocation for MessageActions {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(invocation.actions().clone())
    }
}

/// Fires when the host shuts down or loses the session lock: stop work that can be stopped.
impl FromInvocation for CancellationToken {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        Ok(invocation.cancellation().clone())
    }
}

pub(crate) fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    match base.rfind("::") {
        Some(i) => &full[i + 2..],
        None => full,
    }
}
