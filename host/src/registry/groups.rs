//! One receiver per (connection, entity): groups the enabled functions by what they listen
//! to, and refuses what cannot share a receiver.
//!
//! A function alone on its entity is a group of one. Several functions may share an entity
//! only when every one of them names a distinct `message_type`; they must then agree on
//! `sessions`, `session_ids` and the receiver settings, and have at most one hook of each
//! kind among them.

use std::collections::BTreeMap;
use std::sync::Arc;

use berth::host::HookKind;

use crate::runtime::{EntityGroup, SessionHook, SessionHooks};

use super::resolve::ResolvedFunction;
use super::StartupError;

/// The entity groups of the enabled `functions`, sorted by name; messages of routed groups
/// are routed by the application property `message_type_property`.
pub fn entity_groups(
    functions: &[ResolvedFunction],
    message_type_property: &str,
) -> Result<Vec<EntityGroup>, Vec<StartupError>> {
    let mut by_entity: BTreeMap<(&str, String), Vec<&ResolvedFunction>> = BTreeMap::new();
    for f in functions.iter().filter(|f| !f.disabled) {
        let key = (
            f.spec.connection.as_str(),
            f.spec.entity.path().to_lowercase(),
        );
        by_entity.entry(key).or_default().push(f);
    }
    let mut groups = Vec::new();
    let mut errors = Vec::new();
    for mut members in by_entity.into_values() {
        members.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        match group(&members, message_type_property) {
            Ok(group) => groups.push(group),
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        groups.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(groups)
    } else {
        Err(errors)
    }
}

fn group(
    members: &[&ResolvedFunction],
    message_type_property: &str,
) -> Result<EntityGroup, Vec<StartupError>> {
    let first = members[0];
    let hooks = hooks(members)?;
    let group = match members {
        [only] if only.message_type.is_none() => EntityGroup::single(Arc::new(only.spec.clone())),
        _ => routed(members, message_type_property)?,
    };
    Ok(group
        .with_session_ids(first.session_ids.clone())
        .with_hooks(hooks))
}

fn routed(
    members: &[&ResolvedFunction],
    message_type_property: &str,
) -> Result<EntityGroup, Vec<StartupError>> {
    let first = members[0];
    let entity = &first.spec.entity;
    let connection = &first.spec.connection;
    let unrouted: Vec<&&ResolvedFunction> = members
        .iter()
        .filter(|f| f.message_type.is_none())
        .collect();
    if unrouted.len() == members.len() {
        return Err(vec![naming(
            format!(
                "functions {} are all bound to {entity} on connection `{connection}`; they would compete for its messages",
                names(members.iter())
            ),
            "bind each function to its own entity, route the messages by type (give each \
             function a distinct `message_type`), or disable all but one in host.toml \
             ([functions.NAME] disabled = true)",
            members.iter(),
        )]);
    }
    if !unrouted.is_empty() {
        let routed = members.iter().filter(|f| f.message_type.is_some());
        return Err(vec![naming(
            format!(
                "functions on {entity} mix routing by message type ({}) with taking every message ({})",
                names(routed),
                names(unrouted.iter().copied())
            ),
            "give every function on the entity a `message_type`, or bind the others to another entity",
            members.iter(),
        )]);
    }
    if let Some(other) = members.iter().find(|f| f.session_ids != first.session_ids) {
        return Err(vec![naming(
            format!(
                "functions `{}` and `{}` share {entity} but accept different sessions ({:?} and {:?})",
                first.spec.name, other.spec.name, first.session_ids, other.session_ids
            ),
            "functions routed by message type share one receiver: give them the same \
             `session_ids` (attribute or [functions.<name>] session_ids)",
            [first, *other].iter(),
        )]);
    }
    let routes = members
        .iter()
        .map(|f| {
            let message_type = f.message_type.clone().unwrap_or_default();
            (message_type, Arc::new(f.spec.clone()))
        })
        .collect();
    EntityGroup::by_message_type(message_type_property, routes).map_err(|conflict| {
        let involved = conflict.routes.iter().filter_map(|&i| members.get(i));
        vec![naming(conflict.message, conflict.hint, involved)]
    })
}

/// The hooks of a group: at most one of each kind among its functions.
fn hooks(members: &[&ResolvedFunction]) -> Result<SessionHooks, Vec<StartupError>> {
    let mut hooks = SessionHooks::default();
    let mut errors = Vec::new();
    for kind in [HookKind::Opened, HookKind::Closing] {
        let found: Vec<_> = members
            .iter()
            .flat_map(|f| {
                f.hooks
                    .iter()
                    .filter(|h| h.kind == kind)
                    .map(move |h| (f, h))
            })
            .collect();
        match found.as_slice() {
            [] => {}
            [(_, hook)] => {
                let hook = Some(SessionHook {
                    name: Arc::from(hook.rust_path),
                    hook: hook.hook.clone(),
                });
                match kind {
                    HookKind::Opened => hooks.opened = hook,
                    HookKind::Closing => hooks.closing = hook,
                }
            }
            several => {
                let functions = names(several.iter().map(|(f, _)| *f));
                let mut error = StartupError::new(format!(
                    "functions {functions} share {} and each has a #[{kind}] hook; its sessions can have only one",
                    members[0].spec.entity
                ))
                .hint("the functions of one entity share its sessions: keep one hook of each kind for all of them");
                for (_, hook) in several {
                    error = error.at(format!("{} ({})", hook.location, hook.rust_path));
                }
                errors.push(error);
            }
        }
    }
    if errors.is_empty() {
        Ok(hooks)
    } else {
        Err(errors)
    }
}

/// `` `a`, `b` `` for error messages.
fn names<'a>(functions: impl Iterator<Item = &'a &'a ResolvedFunction>) -> String {
    let names: Vec<String> = functions.map(|f| format!("`{}`", f.spec.name)).collect();
    names.join(", ")
}

/// An error naming the source location of every function involved.
fn naming<'a>(
    message: String,
    hint: &str,
    functions: impl Iterator<Item = &'a &'a ResolvedFunction>,
) -> StartupError {
    let mut error = StartupError::new(message).hint(hint);
    for f in functions {
        error = error.at(format!("{} ({})", f.location, f.rust_path));
    }
    error
}
