//! Attaches each `#[session_opened]` / `#[session_closing]` hook to the session function it
//! names, refusing hooks that name no (session) function and two hooks of one kind for one
//! function.

use std::collections::BTreeMap;

use berth::host::{HookKind, HookRegistration};

use crate::config::closest;

use super::resolve::{ResolvedFunction, ResolvedHook};
use super::StartupError;

/// Attaches `hooks` to `functions`. `registered` are the names of every registered function,
/// resolved or not: a hook on a function that failed to resolve is left out quietly (that
/// function's own error is reported).
pub(super) fn attach_hooks(
    hooks: &[&'static HookRegistration],
    registered: &[&str],
    functions: &mut [ResolvedFunction],
    errors: &mut Vec<StartupError>,
) {
    let mut by_target: BTreeMap<(&str, HookKind), Vec<&HookRegistration>> = BTreeMap::new();
    for hook in hooks {
        by_target
            .entry((hook.function, hook.kind))
            .or_default()
            .push(hook);
    }
    for ((function, kind), hooks) in by_target {
        if hooks.len() > 1 {
            let mut error = StartupError::new(format!(
                "{} #[{kind}] hooks are registered for function `{function}`",
                hooks.len()
            ))
            .hint("a session function has at most one hook of each kind: merge them into one");
            for hook in &hooks {
                error = error.at(format!("{} ({})", hook.location, hook.rust_path));
            }
            errors.push(error);
            continue;
        }
        let hook = hooks[0];
        let Some(target) = functions.iter_mut().find(|f| &*f.spec.name == function) else {
            if !registered.contains(&function) {
                errors.push(unknown_function(hook, registered));
            }
            continue;
        };
        if !target.spec.sessions {
            errors.push(
                StartupError::new(format!(
                    "#[{kind}] hook `{}` is for function `{function}`, whose trigger is not session-enabled",
                    hook.rust_path
                ))
                .at(hook.location)
                .at(format!("{} ({})", target.location, target.rust_path))
                .hint("session hooks belong to session triggers (sessions = true)"),
            );
            continue;
        }
        target.hooks.push(ResolvedHook {
            kind,
            rust_path: hook.rust_path,
            location: hook.location,
            hook: (hook.hook)(),
        });
    }
}

fn unknown_function(hook: &HookRegistration, registered: &[&str]) -> StartupError {
    let mut names = registered.to_vec();
    names.sort_unstable();
    let hint = match closest(hook.function, names.iter().copied()) {
        Some(near) => format!("did you mean `{near}`?"),
        None if names.is_empty() => "this binary registers no functions".to_owned(),
        None => format!("registered functions: `{}`", names.join("`, `")),
    };
    StartupError::new(format!(
        "#[{}] hook `{}` names function `{}`, which is not registered",
        hook.kind, hook.rust_path, hook.function
    ))
    .at(hook.location)
    .hint(hint)
}
