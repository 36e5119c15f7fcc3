//! Application state: values the app provides once at start-up (a database pool, an HTTP
//! client, parsed configuration) and every handler and session hook can take as
//! [`State<T>`], as axum's `State` or apalis' `Data`.
//!
//! The host keeps one [`AppState`] per app, holding at most one value per type, each behind
//! an `Arc`: extracting a `State<T>` clones the `Arc`, never the value. Which types each
//! function and hook takes is known from its signature ([`StateType`]), so the host checks,
//! before any trigger opens, that every one of them was provided, and refuses to start,
//! naming the function and the type, when one is missing.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use crate::error::{HandlerError, Rejection};
use crate::extract::FromInvocation;
use crate::hook::{FromHookContext, HookContext};
use crate::invocation::Invocation;

/// A value the app provided at start-up, shared by every invocation: take `State<T>` as a
/// handler or session hook argument to get the `T` given to the host builder's `.state(…)`
/// (or made by its `.state_with(…)`).
///
/// ```ignore
/// #[derive(Debug)]
/// struct Prices { vat_percent: u32 }
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn price(State(prices): State<Prices>, Json(order): Json<Order>) -> Result<(), HandlerError> {
///     let _gross = order.net_cents * (100 + prices.vat_percent as i64) / 100;
///     Ok(())
/// }
///
/// fn main() -> std::process::ExitCode {
///     berth_host::Host::builder().state(Prices { vat_percent: 20 }).main()
/// }
/// ```
///
/// The value is behind an `Arc` (cheap to clone, shared, read-only): for state that changes,
/// provide a type with its own interior mutability (a pool, a `Mutex`, an atomic). A host
/// that was not given a `T` refuses to start and names the function that takes it.
pub struct State<T>(pub Arc<T>);

impl<T> Deref for State<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Clone for State<T> {
    fn clone(&self) -> Self {
        State(self.0.clone())
    }
}

impl<T: fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&self.0).finish()
    }
}

/// Reads the value from the app's state. Without it (only when the host was not started by
/// its builder, which checks every function first) the message is dead-lettered with reason
/// `ApplicationStateMissing`.
impl<T: Send + Sync + 'static> FromInvocation for State<T> {
    fn from_invocation(invocation: &Invocation) -> Result<Self, Rejection> {
        invocation
            .app_state()
            .and_then(AppState::get::<T>)
            .map(State)
            .ok_or_else(|| Rejection::new("ApplicationStateMissing", missing::<T>()))
    }

    fn app_state_types(types: &mut Vec<StateType>) {
        types.push(StateType::of::<T>());
    }
}

/// Reads the value from the app's state; without it the hook fails (and the session is
/// released unprocessed).
impl<T: Send + Sync + 'static> FromHookContext for State<T> {
    fn from_hook_context(context: &HookContext) -> Result<Self, HandlerError> {
        context
            .app_state()
            .and_then(AppState::get::<T>)
            .map(State)
            .ok_or_else(|| HandlerError::msg(missing::<T>()))
    }

    fn app_state_types(types: &mut Vec<StateType>) {
        types.push(StateType::of::<T>());
    }
}

fn missing<T>() -> String {
    format!(
        "no application state of type `{}` was provided to the host",
        std::any::type_name::<T>()
    )
}

/// A type of application state, as a function or hook asks for it.
#[derive(Debug, Clone, Copy)]
pub struct StateType {
    id: TypeId,
    name: &'static str,
}

impl StateType {
    /// The state type `T`.
    pub fn of<T: 'static>() -> Self {
        StateType {
            id: TypeId::of::<T>(),
            name: std::any::type_name::<T>(),
        }
    }

    /// The type's name, as `std::any::type_name` gives it.
    pub fn name(&self) -> &'static str {
        self.name
    }
}

impl PartialEq for StateType {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Eq for StateType {}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The application state of one app: at most one value per type. Hosts build it and lend it
/// to every invocation and hook call.
#[derive(Default, Clone)]
pub struct AppState {
    values: HashMap<TypeId, (Arc<dyn Any + Send + Sync>, &'static str)>,
}

impl AppState {
    /// No state.
    pub fn new() -> Self {
        AppState::default()
    }

    /// Adds `value` as the state of type `T`, replacing (and returning) one given before.
    pub fn insert<T: Send + Sync + 'static>(&mut self, value: T) -> Option<Arc<T>> {
        self.insert_arc(Arc::new(value))
    }

    /// Adds an already shared value as the state of type `T`.
    pub fn insert_arc<T: Send + Sync + 'static>(&mut self, value: Arc<T>) -> Option<Arc<T>> {
        self.values
            .insert(TypeId::of::<T>(), (value, std::any::type_name::<T>()))
            .and_then(|(old, _)| old.downcast::<T>().ok())
    }

    /// The state of type `T`, if provided.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let (value, _) = self.values.get(&TypeId::of::<T>())?;
        value.clone().downcast::<T>().ok()
    }

    /// Whether a state of this type was provided.
    pub fn contains(&self, ty: &StateType) -> bool {
        self.values.contains_key(&ty.id)
    }

    /// The names of the types provided, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.values.values().map(|(_, name)| *name).collect();
        names.sort_unstable();
        names
    }
}

impl fmt::Debug for AppState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.type_names()).finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    struct Config(&'static str);

    #[test]
    fn one_value_per_type_shared_by_arc() {
        let mut state = AppState::new();
        assert!(state.insert(Config("a")).is_none());
        assert!(state.insert(7u32).is_none());
        let old = state.insert(Config("b"));
        assert_eq!(old.as_deref(), Some(&Config("a")));
        let first = state.get::<Config>();
        let second = state.get::<Config>();
        assert_eq!(first.as_deref(), Some(&Config("b")));
        assert!(Arc::ptr_eq(&first.unwrap(), &second.unwrap()));
        assert!(state.get::<String>().is_none());
        assert!(state.contains(&StateType::of::<u32>()));
        assert!(!state.contains(&StateType::of::<u64>()));
    }
}
