//! Helpers shared by the recipe tests (`routing`, `hooks`, `session_ids`) and the start-up
//! resolution tests (`registry`, `deploy_keda`).
#![allow(dead_code)] // each test module uses its own share

use std::sync::Arc;

use berth::host::{FunctionRegistration, HookRegistration};
use berth::CancellationToken;
use berth_host::config::{AppSettings, HostConfig};
use berth_host::registry::resolve;
use berth_host::runtime::memory::MemoryBroker;
use berth_host::runtime::session_pump::SessionSummary;
use berth_host::runtime::{acceptor, EntityGroup, SessionSource};

/// The functions with these names registered in `module` (pass `module_path!()`): the test
/// binary holds every module's functions, and the same names recur in several modules.
pub fn registered(module: &str, names: &[&str]) -> Vec<&'static FunctionRegistration> {
    berth::host::registrations()
        .filter(|r| in_module(r.rust_path, module) && names.contains(&r.name))
        .collect()
}

/// Whether the item at `rust_path` (a registration's `module_path!()::fn_name`) is declared
/// in `module` itself.
pub fn in_module(rust_path: &str, module: &str) -> bool {
    rust_path
        .strip_prefix(module)
        .and_then(|rest| rest.strip_prefix("::"))
        .is_some_and(|name| !name.contains("::"))
}

/// Every start-up error `resolve` reports, one per line; panics when it reports none.
pub fn startup_errors(
    functions: &[&'static FunctionRegistration],
    hooks: &[&'static HookRegistration],
    config: &HostConfig,
    settings: &AppSettings,
) -> String {
    let errors = resolve(functions, hooks, config, settings).unwrap_err();
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs the session trigger of `group` on `source` until `done` holds on `broker`, then
/// shuts it down and returns the session summaries.
pub async fn run_sessions_until<S: SessionSource>(
    broker: &MemoryBroker,
    group: EntityGroup,
    source: Arc<S>,
    done: impl FnMut(&MemoryBroker) -> bool,
) -> Vec<SessionSummary> {
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(acceptor::run_group(
        Arc::new(group),
        source,
        shutdown.clone(),
    ));
    broker.wait_until("the recipe's end condition", done).await;
    shutdown.cancel();
    task.await.expect("the trigger task panicked")
}
