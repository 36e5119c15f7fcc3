//! Berth: Azure Service Bus (session) functions as plain async fns.
//!
//! ```ignore
//! use berth::prelude::*;
//!
//! #[service_bus_trigger(queue = "orders-with-sessions", connection = "ServiceBusConnection", sessions = true)]
//! async fn process(msg: Message, Json(order): Json<Order>) -> Result<(), HandlerError> {
//!     Ok(())
//! }
//! ```
//!
//! A handler takes any number of extractors ([`Message`], [`Json`], [`Body`], `String`,
//! [`SessionId`], [`DeliveryCount`], [`ApplicationProperties`], [`SessionContext`],
//! [`SessionState`],
//! [`MessageActions`], [`CancellationToken`], [`TraceContext`]) and returns `()`, a [`Settlement`] or a
//! `Result` of those. `Ok` completes the message, `Err` abandons it, a panic is caught and
//! abandons it, and an argument that cannot be extracted dead-letters it.
//!
//! Several functions may share one entity, each handling one `message_type`; and a session
//! function may have [`session_opened`] / [`session_closing`] hooks:
//!
//! ```ignore
//! #[service_bus_trigger(queue = "gateway", sessions = true, message_type = "PingGatewayRequest",
//!     session_ids = ["%GatewayId%"])]
//! async fn ping(Json(ping): Json<Ping>) -> Result<(), HandlerError> { Ok(()) }
//!
//! #[session_opened(function = "ping")]
//! async fn load_routes(session: SessionContext) -> Result<(), HandlerError> { Ok(()) }
//! ```
#![warn(missing_docs)]

mod actions;
mod error;
mod extract;
mod handler;
mod hook;
mod invocation;
mod message;
pub mod ops;
mod optional;
mod registration;
mod session;
mod settlement;
mod state;
#[cfg(test)]
mod test_support;
pub mod trace;

pub use actions::MessageActions;
pub use berth_macros::{service_bus_trigger, session_closing, session_opened};
pub use error::{DeadLetterOnErr, HandlerError, Rejection};
pub use extract::{ApplicationProperties, Body, DeliveryCount, FromInvocation, Json, SessionId};
pub use handler::{BoxedHandler, Handler, HandlerOutput, Outcome};
pub use hook::{BoxedHook, FromHookContext, Hook, HookContext, HookKind, HookOutput};
pub use invocation::Invocation;
pub use message::{ApplicationPropertyMap, Message, PropertyValue};
pub use ops::{ErrorKind, ServiceBusError};
pub use registration::{
    hook_registrations, registrations, FunctionRegistration, HookRegistration, SourceLocation,
    TriggerAttributes,
};
pub use session::SessionContext;
pub use settlement::Settlement;
pub use state::{SessionState, StateSlot, MAX_SESSION_STATE_BYTES};
pub use tokio_util::sync::CancellationToken;
pub use trace::TraceContext;

/// Everything a function author needs, in one import.
pub mod prelude {
    pub use crate::{
        service_bus_trigger, session_closing, session_opened, ApplicationProperties, Body,
        CancellationToken, DeliveryCount, HandlerError, Json, Message, MessageActions,
        SessionContext, SessionId, SessionState, Settlement, TraceContext,
    };
}

/// Used by the code the attributes generate; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::handler::BoxedHandler;
    pub use crate::hook::{BoxedHook, HookKind};
    pub use crate::registration::{
        FunctionRegistration, HookRegistration, SourceLocation, TriggerAttributes,
    };
    pub use inventory;

    /// Erases a handler's argument types.
    pub fn handler<H, Args>(handler: H) -> BoxedHandler
    where
        H: crate::Handler<Args>,
    {
        BoxedHandler::new(handler)
    }

    /// Fails to compile, on the argument's span, when `T` is not an extractor.
    pub const fn assert_extractor<T: crate::FromInvocation>() {}

    /// Fails to compile, on the return type's span, when `T` is not a handler output.
    pub const fn assert_output<T: crate::HandlerOutput>() {}

    /// Erases a session hook's argument types.
    pub fn hook<H, Args>(hook: H) -> BoxedHook
    where
        H: crate::Hook<Args>,
    {
        BoxedHook::new(hook)
    }

    /// Fails to compile, on the argument's span, when `T` is not a session hook argument.
    pub const fn assert_hook_argument<T: crate::FromHookContext>() {}

    /// Fails to compile, on the return type's span, when `T` is not a session hook output.
    pub const fn assert_hook_output<T: crate::HookOutput>() {}
}
