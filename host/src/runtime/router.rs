//! One receiver per entity: the functions bound to it, and which one takes each message.
//!
//! Usually one function owns its entity ([`Routes::One`]). Several functions may share a
//! (session) entity when each names a `message_type` ([`Routes::ByMessageType`]): the pump
//! keeps one receiver, and hands each message, in session order, to the function whose
//! message type equals the message's message-type application property. A message no
//! function takes is dead-lettered with reason [`NO_HANDLER_REASON`] and the session goes on.
//!
//! The group's receiver settings (concurrency, idle timeout, lock renewal, prefetch,
//! rotation) belong to the entity, so the functions of a routed group must agree on them;
//! what happens to one message (`auto_complete`, retry, poison) stays each function's own.

use std::sync::Arc;

use berth::host::{AppState, BoxedHook};
use berth::{Message, PropertyValue, Rejection};

use super::function::{Entity, FunctionSpec, TriggerSettings};
use super::observe::Observer;
use crate::ops::{GroupMetrics, Metrics, Ops, ReceiverProbe};

/// The dead-letter reason of a message whose type no function handles.
pub const NO_HANDLER_REASON: &str = "NoHandlerForMessageType";

/// The application property naming a message's type, unless the host is told otherwise.
pub const DEFAULT_MESSAGE_TYPE_PROPERTY: &str = "MessageType";

/// Everything bound to one entity on one connection: what one acceptor (or message pump)
/// runs.
#[derive(Debug, Clone)]
pub struct EntityGroup {
    /// The function name, or the routed functions' names joined, for logs.
    pub name: Arc<str>,
    /// The entity.
    pub entity: Entity,
    /// The app setting naming the connection.
    pub connection: String,
    /// Whether the entity is session-enabled.
    pub sessions: bool,
    /// The receiver's settings (for a routed group, the ones its functions agree on).
    pub settings: TriggerSettings,
    /// The only sessions to accept, by id; empty: any session (accept-next).
    pub session_ids: Vec<String>,
    /// Which function takes which message.
    pub routes: Routes,
    /// The session lifecycle hooks.
    pub hooks: SessionHooks,
    /// The metric handles its pumps count with (detached until [`Self::with_metrics`]).
    pub metrics: GroupMetrics,
    /// The app's state its handlers and hooks take as `State<T>` (empty until
    /// [`Self::with_app_state`]).
    pub app_state: Arc<AppState>,
    /// Who hears what became of each delivery (nobody until [`Self::with_observer`]).
    pub observer: Observer,
}

/// Which function takes which message.
#[derive(Debug, Clone)]
pub enum Routes {
    /// One function takes every message.
    One(Arc<FunctionSpec>),
    /// Each message goes to the function for its message type.
    ByMessageType(MessageTypeRoutes),
}

/// Functions by message type.
#[derive(Debug, Clone)]
pub struct MessageTypeRoutes {
    property: String,
    routes: Vec<(String, Arc<FunctionSpec>)>,
    known: String,
}

/// The optional hooks called around each session of a group.
#[derive(Debug, Clone, Default)]
pub struct SessionHooks {
    /// Called after a session is accepted, before its first message.
    pub opened: Option<SessionHook>,
    /// Called before a session is released (not when its lock was lost).
    pub closing: Option<SessionHook>,
}

/// One registered hook.
#[derive(Debug, Clone)]
pub struct SessionHook {
    /// The hook fn's Rust path, for logs.
    pub name: Arc<str>,
    /// The hook.
    pub hook: BoxedHook,
}

/// Why functions cannot share one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupConflict {
    /// What is wrong.
    pub message: String,
    /// The positions, in the routes given, of the functions involved.
    pub routes: Vec<usize>,
    /// How to fix it.
    pub hint: &'static str,
}

impl EntityGroup {
    /// The group of one function that takes every message of its entity.
    pub fn single(function: Arc<FunctionSpec>) -> Self {
        EntityGroup {
            name: function.name.clone(),
            entity: function.entity.clone(),
            connection: function.connection.clone(),
            sessions: function.sessions,
            settings: function.settings.clone(),
            session_ids: Vec::new(),
            routes: Routes::One(function),
            hooks: SessionHooks::default(),
            metrics: GroupMetrics::default(),
            app_state: Arc::default(),
            observer: Observer::default(),
        }
    }

    /// The group of functions sharing one entity, each taking the messages whose
    /// application property `property` is its message type (compared exactly). The
    /// functions must be bound to the same entity and connection, agree on `sessions` and
    /// on the receiver settings, and have distinct message types.
    pub fn by_message_type(
        property: impl Into<String>,
        routes: Vec<(String, Arc<FunctionSpec>)>,
    ) -> Result<Self, GroupConflict> {
        let Some((_, first)) = routes.first() else {
            return Err(GroupConflict {
                message: "a routed group needs at least one function".to_owned(),
                routes: Vec::new(),
                hint: "give the group its functions",
            });
        };
        let first = first.clone();
        for (i, (message_type, function)) in routes.iter().enumerate() {
            if let Some(j) = routes[..i].iter().position(|(t, _)| t == message_type) {
                return Err(GroupConflict {
                    message: format!(
                        "functions `{}` and `{}` both handle message type `{message_type}` on {}",
                        routes[j].1.name, function.name, first.entity
                    ),
                    routes: vec![j, i],
                    hint: "each message type on an entity goes to one function: change one \
                           `message_type`",
                });
            }
            if let Some(conflict) = shared_binding_conflict(&first, function) {
                return Err(GroupConflict {
                    routes: vec![0, i],
                    ..conflict
                });
            }
        }
        let names: Vec<&str> = routes.iter().map(|(_, f)| &*f.name).collect();
        let mut known: Vec<&str> = routes.iter().map(|(t, _)| t.as_str()).collect();
        known.sort_unstable();
        Ok(EntityGroup {
            name: Arc::from(names.join(", ")),
            entity: first.entity.clone(),
            connection: first.connection.clone(),
            sessions: first.sessions,
            settings: first.settings.clone(),
            session_ids: Vec::new(),
            routes: Routes::ByMessageType(MessageTypeRoutes {
                property: property.into(),
                known: format!("`{}`", known.join("`, `")),
                routes,
            }),
            hooks: SessionHooks::default(),
            metrics: GroupMetrics::default(),
            app_state: Arc::default(),
            observer: Observer::default(),
        })
    }

    /// Accept only these sessions, by id (session groups).
    pub fn with_session_ids(mut self, session_ids: Vec<String>) -> Self {
        self.session_ids = session_ids;
        self
    }

    /// Call these hooks around each session.
    pub fn with_hooks(mut self, hooks: SessionHooks) -> Self {
        self.hooks = hooks;
        self
    }

    /// Lends its handlers and hooks the app's state.
    pub fn with_app_state(mut self, state: Arc<AppState>) -> Self {
        self.app_state = state;
        self
    }

    /// Reports what becomes of each delivery to `observer`.
    pub fn with_observer(mut self, observer: Observer) -> Self {
        self.observer = observer;
        self
    }

    /// Counts with `ops`' metrics (see [`Self::with_metrics`]) and has `ops` watch the group's
    /// receiver (reporting through `probe`) for `/readyz`.
    pub fn instrumented(self, ops: &Ops, probe: &Arc<ReceiverProbe>) -> Self {
        let group = self.with_metrics(&ops.metrics);
        ops.watch_receiver(group.name.clone(), probe, group.metrics.trigger.clone());
        group
    }

    /// Count with handles from `metrics` (resolved now, once, for the group and each of its
    /// functions).
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics =
            GroupMetrics::resolve(metrics, &self.name, self.functions().map(|f| &f.name));
        self
    }

    /// The function that takes `message`, or why none does (the message is then
    /// dead-lettered with the rejection's reason and description).
    pub fn route(&self, message: &Message) -> Result<&Arc<FunctionSpec>, Rejection> {
        match &self.routes {
            Routes::One(function) => Ok(function),
            Routes::ByMessageType(routes) => routes.route(message, &self.entity),
        }
    }

    /// Every function of the group.
    pub fn functions(&self) -> impl Iterator<Item = &Arc<FunctionSpec>> {
        let (one, many) = match &self.routes {
            Routes::One(function) => (Some(function), None),
            Routes::ByMessageType(routes) => (None, Some(routes.routes.iter().map(|(_, f)| f))),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    /// Whether any function reads the typed session state (it is then loaded at accept).
    pub fn needs_state(&self) -> bool {
        self.functions().any(|f| f.handler.needs_state())
    }
}

impl MessageTypeRoutes {
    /// The application property holding the message type.
    pub fn property(&self) -> &str {
        &self.property
    }

    /// The message types and their functions, in the order given.
    pub fn routes(&self) -> &[(String, Arc<FunctionSpec>)] {
        &self.routes
    }

    fn route(&self, message: &Message, entity: &Entity) -> Result<&Arc<FunctionSpec>, Rejection> {
        let property = &self.property;
        let value = message.application_properties.get(property);
        if let Some(message_type) = value.and_then(PropertyValue::as_str) {
            if let Some((_, function)) = self.routes.iter().find(|(t, _)| t == message_type) {
                return Ok(function);
            }
        }
        let found = match value {
            None => format!("the message has no `{property}` application property"),
            Some(PropertyValue::String(t)) => format!("no function handles message type `{t}`"),
            Some(other) => {
                format!("the `{property}` application property is not a string ({other})")
            }
        };
        Err(Rejection::new(
            NO_HANDLER_REASON,
            format!("{found} on {entity}; known types: {}", self.known),
        ))
    }
}

/// Why `other` cannot share `first`'s receiver: another entity or connection, another
/// `sessions`, or other receiver settings.
fn shared_binding_conflict(first: &FunctionSpec, other: &FunctionSpec) -> Option<GroupConflict> {
    let pair = format!("`{}` and `{}`", first.name, other.name);
    if first.entity.path().to_lowercase() != other.entity.path().to_lowercase()
        || first.connection != other.connection
    {
        return Some(GroupConflict {
            message: format!(
                "functions {pair} are not bound to the same entity and connection ({} on `{}`, {} on `{}`)",
                first.entity, first.connection, other.entity, other.connection
            ),
            routes: Vec::new(),
            hint: "a routed group shares one receiver: bind its functions to one entity",
        });
    }
    if first.sessions != other.sessions {
        return Some(GroupConflict {
            message: format!(
                "functions {pair} share {} but disagree on `sessions` ({} and {})",
                first.entity, first.sessions, other.sessions
            ),
            routes: Vec::new(),
            hint: "functions routed by message type share one receiver: give them all the \
                   same `sessions`",
        });
    }
    let (key, a, b) = receiver_setting_conflict(&first.settings, &other.settings)?;
    Some(GroupConflict {
        message: format!(
            "functions {pair} share {} but disagree on `{key}` ({a} and {b})",
            first.entity
        ),
        routes: Vec::new(),
        hint: "functions routed by message type share one receiver: set its settings in \
               [service_bus], or the same value in each function's [functions.<name>] table",
    })
}

/// The first receiver setting on which `a` and `b` differ: its key and both values.
fn receiver_setting_conflict(
    a: &TriggerSettings,
    b: &TriggerSettings,
) -> Option<(&'static str, String, String)> {
    let pairs = [
        (
            "prefetch_count",
            a.prefetch_count.to_string(),
            b.prefetch_count.to_string(),
        ),
        (
            "max_concurrent_sessions",
            a.max_concurrent_sessions.to_string(),
            b.max_concurrent_sessions.to_string(),
        ),
        (
            "max_concurrent_calls",
            a.max_concurrent_calls.to_string(),
            b.max_concurrent_calls.to_string(),
        ),
        (
            "session_idle_timeout",
            format!("{:?}", a.session_idle_timeout),
            format!("{:?}", b.session_idle_timeout),
        ),
        (
            "max_auto_lock_renewal_duration",
            format!("{:?}", a.max_auto_lock_renewal_duration),
            format!("{:?}", b.max_auto_lock_renewal_duration),
        ),
        (
            "max_messages_per_session",
            limit(a.max_messages_per_session),
            limit(b.max_messages_per_session),
        ),
        (
            "release_after_each_message",
            a.release_after_each_message.to_string(),
            b.release_after_each_message.to_string(),
        ),
    ];
    pairs.into_iter().find(|(_, x, y)| x != y)
}

fn limit(value: Option<u32>) -> String {
    value.map_or_else(|| "no limit".to_owned(), |v| v.to_string())
}
