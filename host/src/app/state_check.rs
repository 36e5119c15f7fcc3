//! Before any trigger opens: every `State<T>` a function or one of its session hooks takes
//! must have been provided, else the host refuses to start, naming the function (or hook),
//! where it is declared, and the type.

use berth::host::StateType;

use crate::registry::ResolvedFunction;

/// One line per `State<T>` taken by `functions` (or their hooks) whose type is not
/// `provided` (named in `provided_names`).
pub(super) fn missing_states(
    functions: &[ResolvedFunction],
    provided: impl Fn(&StateType) -> bool,
    provided_names: &[&str],
) -> Vec<String> {
    let given = if provided_names.is_empty() {
        "none".to_owned()
    } else {
        provided_names
            .iter()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    for function in functions {
        let taker = format!("function `{}` ({})", function.spec.name, function.location);
        for ty in function.spec.handler.app_state_types() {
            if !provided(ty) {
                problems.push(line(&taker, ty, &given));
            }
        }
        for hook in &function.hooks {
            let taker = format!(
                "the {} hook `{}` of function `{}` ({})",
                hook.kind, hook.rust_path, function.spec.name, hook.location
            );
            for ty in hook.hook.app_state_types() {
                if !provided(ty) {
                    problems.push(line(&taker, ty, &given));
                }
            }
        }
    }
    problems.dedup();
    problems
}

fn line(taker: &str, ty: &StateType, given: &str) -> String {
    format!(
        "{taker} takes `State<{ty}>`, but no state of type `{ty}` was given to the host: \
         provide one in `main` with `berth_host::Host::builder().state(…)` or \
         `.state_with(…)` (state given: {given})"
    )
}
