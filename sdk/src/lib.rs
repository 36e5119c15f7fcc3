//! Berth: Azure Service Bus (session) functions as plain async fns.
//!
//! ```
//! use berth::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Order { id: String, quantity: u32 }
//!
//! #[service_bus_trigger(queue = "orders-with-sessions", sessions = true)]
//! async fn process(SessionId(customer): SessionId, Json(order): Json<Order>) -> Result<(), HandlerError> {
//!     if order.quantity == 0 {
//!         return Err(HandlerError::dead_letter("EmptyOrder", format!("order {} of {customer}", order.id)));
//!     }
//!     Ok(())
//! }
//! # fn main() {}
//! ```
//!
//! Run the app with `berth-host` (`fn main() -> ExitCode { berth_host::main() }`): it reads
//! `host.toml` and the settings, connects to Service Bus (or starts the embedded broker), and
//! calls each function with the messages of its entity, one at a time per session, in order.
//!
//! # Arguments: extractors
//!
//! A handler takes any number (up to 16) of extractors, in any order:
//!
//! | Argument | What it gives |
//! |---|---|
//! | [`Message`] | the whole message: body, ids, properties, delivery count |
//! | [`Json<T>`](Json) | the body deserialized from JSON |
//! | [`Body`] / `String` | the body as bytes / as UTF-8 text |
//! | [`SessionId`] | the message's session id |
//! | [`DeliveryCount`] | how many times the message was delivered (1 on first) |
//! | [`ApplicationProperties`] | the sender's application properties |
//! | [`SessionContext`] | the session: id, lock, raw state (session triggers) |
//! | [`SessionState<T>`](SessionState) | the session state as your own type, saved on success |
//! | [`State<T>`](State) | the app's own state (a pool, a client, configuration), given to the host at start-up |
//! | [`MessageActions`] | settle the message yourself (`auto_complete = false`) |
//! | [`CancellationToken`] | fires on shutdown or session lock loss |
//! | [`TraceContext`] | the W3C trace context the message carried |
//! | `Option<E>`, [`Result<E, Rejection>`](Rejection) | any of the above, without dead-lettering when it does not fit |
//!
//! An argument that cannot be extracted (a body that is not valid JSON for `Json<T>`)
//! dead-letters the message with a reason and description, and the session goes on; take it
//! as `Option<E>` or `Result<E, Rejection>` to decide yourself.
//!
//! # Return types
//!
//! `()`, a [`Settlement`], or a `Result` of those whose error converts into [`HandlerError`]
//! (any std error, `anyhow::Error`, `Box<dyn Error + Send + Sync>`, `String`): `anyhow::Result<()>`
//! is a handler return type. `Ok` completes the message (with `auto_complete`, the default);
//! a `Settlement` applies it; `Err` abandons it so it is retried (in place with the trigger's
//! `retry` policy, else by the broker up to its max delivery count); an error made with
//! [`HandlerError::dead_letter`] or [`.dead_letter_on_err(reason)`](DeadLetterOnErr)
//! dead-letters it at once. A panic is caught and abandons it.
//!
//! # Several functions on one entity, session hooks
//!
//! Several functions may share one entity, each handling one `message_type`; and a session
//! function may have [`session_opened`] / [`session_closing`] hooks:
//!
//! ```
//! use berth::prelude::*;
//!
//! #[derive(serde::Deserialize)]
//! struct Ping { seq: u64 }
//!
//! #[service_bus_trigger(queue = "gateway", sessions = true, message_type = "PingGatewayRequest",
//!     session_ids = ["%GatewayId%"])]
//! async fn ping(Json(ping): Json<Ping>) -> Result<(), HandlerError> {
//!     let _ = ping.seq;
//!     Ok(())
//! }
//!
//! #[session_opened(function = "ping")]
//! async fn load_routes(session: SessionContext) -> Result<(), HandlerError> {
//!     let _routes = session.get_state().await?;
//!     Ok(())
//! }
//! # fn main() {}
//! ```
#![warn(missing_docs)]

mod actions;
mod app_state;
mod error;
mod extract;
mod handler;
mod hook;
mod invocation;
mod message;
mod ops;
mod optional;
mod registration;
mod session;
mod settlement;
mod state;
#[cfg(test)]
mod test_support;
pub mod trace;

pub use actions::MessageActions;
pub use app_state::State;
#[doc = include_str!("../docs/service_bus_trigger.md")]
pub use berth_macros::service_bus_trigger;
pub use berth_macros::{session_closing, session_opened};
pub use error::{DeadLetterOnErr, HandlerError, Rejection};
pub use extract::{ApplicationProperties, Body, DeliveryCount, FromInvocation, Json, SessionId};
pub use handler::{Handler, HandlerOutput};
pub use hook::{FromHookContext, Hook, HookContext, HookOutput};
pub use invocation::Invocation;
pub use message::{ApplicationPropertyMap, Message, PropertyValue};
pub use ops::{ErrorKind, ServiceBusError};
pub use session::SessionContext;
pub use settlement::Settlement;
pub use state::{SessionState, MAX_SESSION_STATE_BYTES};
pub use tokio_util::sync::CancellationToken;
pub use trace::TraceContext;

/// Everything a function author needs, in one import.
pub mod prelude {
    pub use crate::{
        service_bus_trigger, session_closing, session_opened, ApplicationProperties, Body,
        CancellationToken, DeadLetterOnErr, DeliveryCount, HandlerError, Json, Message,
        MessageActions, Rejection, SessionContext, SessionId, SessionState, Settlement, State,
        TraceContext,
    };
}

/// What a host (`berth-host`) uses to find, call and serve functions: not for function
/// authors, and not a stable API (the host and the app always build against one `berth`).
#[doc(hidden)]
pub mod host {
    pub use crate::app_state::{AppState, StateType};
    pub use crate::handler::{BoxedHandler, Outcome};
    pub use crate::hook::{BoxedHook, HookKind};
    pub use crate::ops::{BoxFuture, MessageOps, SessionOps};
    pub use crate::registration::{
        hook_registrations, registrations, FunctionRegistration, HookRegistration, SourceLocation,
        TriggerAttributes,
    };
    pub use crate::state::StateSlot;
}

/// Used by the code the attributes generate; not a public API.
#[doc(hidden)]
pub mod __private {
    use std::future::Future;
    use std::pin::Pin;

    pub use crate::handler::ArgumentInfo;
    pub use crate::hook::HookArgumentInfo;
    pub use crate::host::{
        BoxFuture, BoxedHandler, BoxedHook, FunctionRegistration, HookKind, HookRegistration,
        SourceLocation, TriggerAttributes,
    };
    pub use crate::{FromHookContext, FromInvocation, HandlerError, HandlerOutput, HookOutput};
    pub use inventory;

    /// A fn's future, boxed; fails to compile, on the fn's name, when it is not `Send`.
    pub fn send<F>(future: F) -> SendFuture<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: 'static,
    {
        Box::pin(future)
    }

    /// The facts of a handler argument; fails to compile, on the argument's type, when `T` is
    /// not an extractor.
    pub const fn argument_info<T: FromInvocation>() -> ArgumentInfo {
        ArgumentInfo::of::<T>()
    }

    /// A type-erased handler from the generated extraction closure.
    pub fn handler_fn<C>(arguments: &[ArgumentInfo], call: C) -> BoxedHandler
    where
        C: Fn(
                &crate::Invocation,
            ) -> Result<BoxFuture<'static, crate::host::Outcome>, crate::Rejection>
            + Send
            + Sync
            + 'static,
    {
        BoxedHandler::from_fn(arguments, call)
    }

    /// The handler's outcome; fails to compile, on the return type, when `R` is not a
    /// handler output.
    pub fn handler_output<R: HandlerOutput + 'static>(
        future: SendFuture<R>,
    ) -> BoxFuture<'static, crate::host::Outcome> {
        Box::pin(async move { future.await.into_outcome() })
    }

    /// A fn's boxed future, as [`send`] returns it.
    pub type SendFuture<R> = Pin<Box<dyn Future<Output = R> + Send>>;

    /// The facts of a session hook argument; fails to compile, on the argument's type, when
    /// `T` is not a hook argument.
    pub const fn hook_argument_info<T: FromHookContext>() -> HookArgumentInfo {
        HookArgumentInfo::of::<T>()
    }

    /// A type-erased session hook from the generated closure (which fails when an argument
    /// cannot be built).
    pub fn hook_fn<C>(arguments: &[HookArgumentInfo], call: C) -> BoxedHook
    where
        C: Fn(
            &crate::HookContext,
        ) -> Result<BoxFuture<'static, Result<(), HandlerError>>, HandlerError>,
        C: Send + Sync + 'static,
    {
        BoxedHook::from_fn(arguments, move |context| match call(context) {
            Ok(future) => future,
            Err(error) => Box::pin(async move { Err(error) }),
        })
    }

    /// The hook's result; fails to compile, on the return type, when `R` is not a hook
    /// output.
    pub fn hook_output<R: HookOutput + 'static>(
        future: SendFuture<R>,
    ) -> BoxFuture<'static, Result<(), HandlerError>> {
        Box::pin(async move { future.await.into_result() })
    }
}
