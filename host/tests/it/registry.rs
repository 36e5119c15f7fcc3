//! Start-up resolution: binding expressions, overrides, and the conflicts that stop the
//! host, each naming every source location involved.
#![allow(clippy::unwrap_used)]

use berth::prelude::*;
use berth_host::config::{parse_host_config, AppSettings, ConnectionSetting, HostConfig};
use berth_host::registry::resolve;
use berth_host::runtime::Entity;

use crate::recipes_support::in_module;

#[service_bus_trigger(queue = "%OrdersQueue%", sessions = true)]
async fn orders(_session: SessionContext) {}

#[service_bus_trigger(topic = "events-%Env%", subscription = "audit", connection = "Other")]
async fn audit() {}

#[service_bus_trigger(queue = "shared", name = "first")]
async fn first_on_shared() {}

#[service_bus_trigger(queue = "shared", name = "second")]
async fn second_on_shared() {}

#[service_bus_trigger(queue = "dup-a", name = "dup")]
async fn dup_one() {}

#[service_bus_trigger(queue = "dup-b", name = "dup")]
async fn dup_two() {}

#[service_bus_trigger(queue = "plain")]
async fn wants_session(_session: SessionContext) {}

fn settings(text: &str) -> AppSettings {
    AppSettings::parse(text, "local.settings.toml").unwrap()
}

fn only(names: &[&str]) -> Vec<&'static berth::host::FunctionRegistration> {
    berth::host::registrations()
        .filter(|r| in_module(r.rust_path, module_path!()) && names.contains(&r.name))
        .collect()
}

#[test]
fn binding_expressions_resolve_from_app_settings_and_the_environment() {
    let app = settings("[values]\nOrdersQueue = \"orders-with-sessions\"\n").with_env([
        ("Env".to_owned(), "prod".to_owned()),
        ("Other".to_owned(), "Endpoint=sb://x/".to_owned()),
    ]);
    let functions = resolve(
        &only(&["orders", "audit"]),
        &[],
        &HostConfig::default(),
        &app,
    )
    .unwrap();
    assert_eq!(functions.len(), 2);
    let audit = &functions[0];
    assert_eq!(
        audit.spec.entity,
        Entity::Subscription {
            topic: "events-prod".into(),
            subscription: "audit".into()
        }
    );
    assert_eq!(
        audit.connection,
        Some(ConnectionSetting::ConnectionString(
            "Endpoint=sb://x/".into()
        ))
    );
    let orders = &functions[1];
    assert_eq!(
        orders.spec.entity,
        Entity::Queue("orders-with-sessions".into())
    );
    assert!(orders.spec.sessions);
    assert_eq!(
        orders.connection, None,
        "no connection set: the embedded broker"
    );
}

#[test]
fn an_unknown_setting_names_the_function_and_the_setting() {
    let errors = resolve(
        &only(&["orders"]),
        &[],
        &HostConfig::default(),
        &settings(""),
    )
    .unwrap_err();
    let text = errors[0].to_string();
    assert!(text.contains("`orders`"), "{text}");
    assert!(text.contains("OrdersQueue"), "{text}");
    assert!(text.contains("registry.rs"), "no source location: {text}");
}

#[test]
fn host_toml_overrides_entity_and_knobs() {
    let config = parse_host_config(
        "[service_bus]\nmax_concurrent_sessions = 3\n[functions.orders]\nqueue = \"other\"\nauto_complete = false\nsession_idle_timeout = \"2s\"\n",
        "host.toml",
    )
    .unwrap();
    let functions = resolve(&only(&["orders"]), &[], &config, &settings("")).unwrap();
    let spec = &functions[0].spec;
    assert_eq!(spec.entity, Entity::Queue("other".into()));
    assert_eq!(spec.settings.max_concurrent_sessions, 3);
    assert!(!spec.settings.auto_complete);
    assert_eq!(
        spec.settings.session_idle_timeout,
        std::time::Duration::from_secs(2)
    );
}

#[test]
fn duplicate_names_are_refused_naming_both_locations() {
    let errors = resolve(&only(&["dup"]), &[], &HostConfig::default(), &settings("")).unwrap_err();
    let text = errors[0].to_string();
    assert!(text.contains("2 functions are named `dup`"), "{text}");
    assert!(
        text.contains("registry::dup_one") && text.contains("registry::dup_two"),
        "{text}"
    );
    assert_eq!(text.matches("registry.rs:").count(), 2, "{text}");
}

#[test]
fn two_functions_on_one_entity_are_refused_unless_one_is_disabled() {
    let regs = only(&["first", "second"]);
    let errors = resolve(&regs, &[], &HostConfig::default(), &settings("")).unwrap_err();
    let text = errors[0].to_string();
    assert!(
        text.contains("`first`, `second`") && text.contains("queue shared"),
        "{text}"
    );
    assert_eq!(text.matches("registry.rs:").count(), 2, "{text}");

    let config = parse_host_config("[functions.second]\ndisabled = true\n", "host.toml").unwrap();
    let functions = resolve(&regs, &[], &config, &settings("")).unwrap();
    assert!(functions
        .iter()
        .any(|f| &*f.spec.name == "second" && f.disabled));
}

#[test]
fn a_session_context_on_a_non_session_trigger_is_refused_at_start_up() {
    let errors = resolve(
        &only(&["wants_session"]),
        &[],
        &HostConfig::default(),
        &settings(""),
    )
    .unwrap_err();
    let text = errors[0].to_string();
    assert!(
        text.contains("SessionContext") && text.contains("sessions = true"),
        "{text}"
    );
}

#[test]
fn an_override_for_an_unknown_function_suggests_the_closest_name() {
    let config = parse_host_config("[functions.order]\ndisabled = true\n", "host.toml").unwrap();
    let errors = resolve(
        &only(&["orders"]),
        &[],
        &config,
        &settings("[values]\nOrdersQueue = \"q\"\n"),
    )
    .unwrap_err();
    let text = errors[0].to_string();
    assert!(
        text.contains("host.toml:1:") && text.contains("did you mean `orders`"),
        "{text}"
    );
}
