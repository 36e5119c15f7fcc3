//! berth-emulator's integration tests, one binary (`cargo test -p berth-emulator --test it`;
//! one module: `… --test it entity_sessions::`). Each module was a test binary of its own:
//! they share this process, so a test must not rely on being alone in it (no global
//! subscriber, no environment variables; every broker on its own port and directory). The
//! crash tests run their children as this binary again, naming the child test by its path
//! here ([`child_test`]).
#![allow(clippy::unwrap_used)]

mod admin_support;
mod amqp_support;
mod rules_support;
mod wait;

mod admin_api;
mod admin_entity_options;
mod admin_properties;
mod amqp_engine;
mod amqp_malformed;
mod amqp_raw;
mod amqp_throughput;
mod auth_rights;
mod broker_limits;
mod broker_rules;
mod entity_activation;
mod entity_config;
mod entity_duplicates;
mod entity_forwarding;
mod entity_queue;
mod entity_rules;
mod entity_runtime;
mod entity_schedule_ttl;
mod entity_sessions;
mod entity_status_idle;
mod entity_topics;
mod fan_out_combined;
mod sdk;
mod sdk_wire;
mod store_bench;
mod store_crash;
mod store_recovery;
mod store_session_crash;
mod tls_listener;
mod topic_peek_amqp;

/// The name libtest knows the test `name` of module `module` by (`module_path!()` without
/// this crate's name): what a crash test passes to its child with `--exact`.
pub fn child_test(module: &str, name: &str) -> String {
    let path = module.split_once("::").map_or("", |(_, path)| path);
    format!("{path}::{name}")
}
