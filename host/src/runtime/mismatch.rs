//! A trigger whose entity does not fit it — `sessions = true` on an entity without sessions,
//! or the reverse — cannot work however often it retries. The broker says so when the
//! receiver attaches ([`berth::ErrorKind::EntityMismatch`]); the trigger then stops with an
//! error that names the function, the entity and the fix, and the host stops with it.

use berth::{ErrorKind, ServiceBusError};
use tracing::error;

use super::router::EntityGroup;

/// Whether `error` means the trigger can never receive from its entity; if so, logs why
/// and how to fix it.
pub(crate) fn is_fatal(group: &EntityGroup, error: &ServiceBusError) -> bool {
    if error.kind != ErrorKind::EntityMismatch {
        return false;
    }
    let fix = if group.sessions {
        format!(
            "the function takes sessions but {} does not require them: enable sessions on the entity (RequiresSession = true), or set sessions = false in #[service_bus_trigger]",
            group.entity
        )
    } else {
        format!(
            "{} requires sessions but the function does not take them: set sessions = true in #[service_bus_trigger], or use an entity without sessions",
            group.entity
        )
    };
    error!(
        function = %group.name,
        entity = %group.entity,
        broker = %error,
        fix = %fix,
        "the trigger cannot receive from its entity; stopping the host"
    );
    true
}
