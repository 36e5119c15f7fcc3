//! Function and session hook registrations, collected at compile time from
//! `#[service_bus_trigger]`, `#[session_opened]` and `#[session_closing]`.

use crate::handler::BoxedHandler;
use crate::hook::{BoxedHook, HookKind};

/// Where in the source a function was declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceLocation {
    /// The file, as `file!()` gives it.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
    /// The column of the function's name.
    pub column: u32,
}

impl std::fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// The trigger's attribute values, as written (binding expressions like `%Queue%` are
/// resolved by the host at start-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerAttributes {
    /// The queue, for a queue trigger.
    pub queue: Option<&'static str>,
    /// The topic, for a subscription trigger.
    pub topic: Option<&'static str>,
    /// The subscription, for a subscription trigger.
    pub subscription: Option<&'static str>,
    /// The name of the app setting holding the connection string.
    pub connection: &'static str,
    /// Whether the entity is session-enabled and the trigger accepts sessions.
    pub sessions: bool,
    /// Whether the host completes a message when the handler returns `Ok` (`None`: the
    /// host's default).
    pub auto_complete: Option<bool>,
    /// The message type this function handles, when several functions share one entity:
    /// the host routes each message by its message-type application property (`None`: the
    /// function takes every message of its entity).
    pub message_type: Option<&'static str>,
    /// The only sessions this (session) trigger accepts, by id (empty: any session).
    pub session_ids: &'static [&'static str],
}

/// One `#[service_bus_trigger]` function, registered at compile time.
#[derive(Debug)]
pub struct FunctionRegistration {
    /// The function name (the `name` key, else the Rust fn name).
    pub name: &'static str,
    /// The Rust path of the fn (`module_path!()::fn_name`).
    pub rust_path: &'static str,
    /// The trigger's attributes.
    pub trigger: TriggerAttributes,
    /// Builds the type-erased handler.
    pub handler: fn() -> BoxedHandler,
    /// Where the fn is declared.
    pub location: SourceLocation,
}

inventory::collect!(FunctionRegistration);

/// Every function registered in this binary, in no particular order.
pub fn registrations() -> impl Iterator<Item = &'static FunctionRegistration> {
    inventory::iter::<FunctionRegistration>.into_iter()
}

/// One `#[session_opened]` or `#[session_closing]` hook, registered at compile time.
#[derive(Debug)]
pub struct HookRegistration {
    /// When the hook is called.
    pub kind: HookKind,
    /// The name of the session function whose sessions it hooks (as registered: the
    /// trigger's `name`, else the fn name).
    pub function: &'static str,
    /// The Rust path of the hook fn (`module_path!()::fn_name`).
    pub rust_path: &'static str,
    /// Builds the type-erased hook.
    pub hook: fn() -> BoxedHook,
    /// Where the hook fn is declared.
    pub location: SourceLocation,
}

inventory::collect!(HookRegistration);

/// Every session hook registered in this binary, in no particular order.
pub fn hook_registrations() -> impl Iterator<Item = &'static HookRegistration> {
    inventory::iter::<HookRegistration>.into_iter()
}
