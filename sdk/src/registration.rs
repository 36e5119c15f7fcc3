//! Function registrations, collected at compile time from `#[service_bus_trigger]`.

use crate::handler::BoxedHandler;

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
