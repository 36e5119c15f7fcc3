use std::time::Duration;

use super::*;
use crate::config::{LogFormat, RetryConfig};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn env_only(pairs: &[(&str, &str)]) -> Result<HostConfig, ConfigError> {
    parse_host_config_with_env(None, "host.toml", vars(pairs))
}

fn env_error(pairs: &[(&str, &str)]) -> ConfigError {
    env_only(pairs).unwrap_err()
}

#[test]
fn maps_double_underscore_segments_to_keys() {
    let config = env_only(&[
        ("BERTH__service_bus__max_concurrent_sessions", "16"),
        ("BERTH__service_bus__retry__max_attempts", "3"),
        ("BERTH__service_bus__retry__initial_delay", "250ms"),
        ("BERTH__logging__format", "json"),
        ("BERTH__logging__level", "info,berth_host=debug"),
        ("BERTH__shutdown_timeout", "10s"),
        (
            "BERTH__functions__process_session_message__disabled",
            "true",
        ),
        (
            "BERTH__functions__process_session_message__session_ids",
            "[\"a\", \"b\"]",
        ),
        ("PATH", "/usr/bin"),
        ("BERTHA__service_bus__prefetch_count", "not ours"),
    ])
    .unwrap();
    assert_eq!(config.service_bus.max_concurrent_sessions, 16);
    assert_eq!(
        config.service_bus.retry,
        Some(RetryConfig {
            max_attempts: 3,
            initial_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
        })
    );
    assert_eq!(config.logging.format, LogFormat::Json);
    assert_eq!(config.logging.level, "info,berth_host=debug");
    assert_eq!(config.shutdown_timeout, Duration::from_secs(10));
    let function = &config.functions["process_session_message"];
    assert!(function.disabled);
    assert_eq!(function.session_ids, Some(vec!["a".into(), "b".into()]));
    assert_eq!(
        function.location.file,
        "environment variable BERTH__functions__process_session_message__disabled"
    );
}

#[test]
fn without_variables_the_file_is_parsed_as_before() {
    let text = "[service_bus]\nprefetch_count = 5\n";
    let with = parse_host_config_with_env(Some(text), "host.toml", vars(&[("X", "1")])).unwrap();
    assert_eq!(with, parse_host_config(text, "host.toml").unwrap());
    assert_eq!(env_only(&[]).unwrap(), HostConfig::default());
}

#[test]
fn variables_beat_the_file_and_leave_its_other_keys() {
    let text = "shutdown_timeout = \"1m\"\n\n[service_bus]\nmax_concurrent_sessions = 3\nprefetch_count = 7\n\n[functions.f]\nqueue = \"from-file\"\n";
    let config = parse_host_config_with_env(
        Some(text),
        "host.toml",
        vars(&[
            ("BERTH__service_bus__max_concurrent_sessions", "16"),
            ("BERTH__functions__f__queue", "from-env"),
        ]),
    )
    .unwrap();
    assert_eq!(config.service_bus.max_concurrent_sessions, 16);
    assert_eq!(config.service_bus.prefetch_count, 7);
    assert_eq!(config.shutdown_timeout, Duration::from_secs(60));
    let function = &config.functions["f"];
    assert_eq!(function.queue.as_deref(), Some("from-env"));
    assert_eq!(
        (function.location.file.as_str(), function.location.line),
        ("host.toml", 7),
        "a function of the file keeps the file's location"
    );
}

#[test]
fn keys_match_case_insensitively_but_function_names_keep_their_case() {
    let config = env_only(&[
        ("BERTH__SERVICE_BUS__MAX_CONCURRENT_SESSIONS", "4"),
        ("BERTH__Service_Bus__Retry__Max_Attempts", "2"),
        ("BERTH__FUNCTIONS__Orders__DISABLED", "true"),
    ])
    .unwrap();
    assert_eq!(config.service_bus.max_concurrent_sessions, 4);
    assert_eq!(config.service_bus.retry.map(|r| r.max_attempts), Some(2));
    assert!(config.functions["Orders"].disabled);
}

#[test]
fn whole_tables_and_quoted_strings_are_read_as_toml() {
    let config = env_only(&[
        (
            "BERTH__service_bus__retry",
            "{ max_attempts = 5, max_delay = \"2s\" }",
        ),
        ("BERTH__service_bus__message_type_property", "\"Kind\""),
    ])
    .unwrap();
    let retry = config.service_bus.retry.unwrap();
    assert_eq!(
        (retry.max_attempts, retry.max_delay),
        (5, Duration::from_secs(2))
    );
    assert_eq!(config.service_bus.message_type_property, "Kind");
}

#[test]
fn a_value_that_only_looks_like_toml_falls_back_to_a_string() {
    let config = env_only(&[
        ("BERTH__service_bus__message_type_property", "123"),
        ("BERTH__emulator__host", "inf"),
        ("BERTH__functions__f__connection", "true"),
    ])
    .unwrap();
    assert_eq!(config.service_bus.message_type_property, "123");
    assert_eq!(config.emulator.host, "inf");
    assert_eq!(config.functions["f"].connection.as_deref(), Some("true"));
}

#[test]
fn an_unknown_key_names_the_variable_and_the_closest_key() {
    let err = env_error(&[("BERTH__service_bus__max_concurent_sessions", "16")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__service_bus__max_concurent_sessions"
    );
    assert_eq!(err.line(), None);
    assert!(
        err.message()
            .starts_with("unknown field `max_concurent_sessions`"),
        "{err}"
    );
    assert_eq!(err.hint(), Some("did you mean `max_concurrent_sessions`?"));
    assert!(err.to_string().starts_with(
        "environment variable BERTH__service_bus__max_concurent_sessions: unknown field"
    ));

    let err = env_error(&[("BERTH__servicebus__prefetch_count", "1")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__servicebus__prefetch_count"
    );
    assert_eq!(err.hint(), Some("did you mean `service_bus`?"));
}

#[test]
fn type_and_range_errors_name_the_variable() {
    let err = env_error(&[("BERTH__service_bus__max_concurrent_sessions", "eight")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__service_bus__max_concurrent_sessions"
    );
    assert!(
        err.message().contains("invalid type: string \"eight\""),
        "{err}"
    );

    let err = env_error(&[("BERTH__service_bus__max_concurrent_sessions", "0")]);
    assert_eq!(
        err.message(),
        "must be at least 1, found 0",
        "the TOML reading's error"
    );

    let err = env_error(&[("BERTH__service_bus__auto_complete_messages", "yes")]);
    assert!(err.message().contains("expected a boolean"), "{err}");

    let err = env_error(&[("BERTH__shutdown_timeout", "soon")]);
    assert_eq!(err.file(), "environment variable BERTH__shutdown_timeout");

    let err = env_error(&[("BERTH__logging__format", "xml")]);
    assert!(err.message().contains("unknown variant `xml`"), "{err}");

    let err = env_error(&[("BERTH__functions__f__queue", "")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__functions__f__queue"
    );
    assert!(err.message().contains("must not be empty"), "{err}");
}

#[test]
fn a_table_missing_a_required_key_names_the_variable_that_made_it() {
    let err = env_error(&[("BERTH__service_bus__retry__initial_delay", "1s")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__service_bus__retry__initial_delay"
    );
    assert!(err.message().contains("max_attempts"), "{err}");
}

#[test]
fn malformed_names_are_refused() {
    let err = env_error(&[("BERTH__service_bus____prefetch_count", "1")]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__service_bus____prefetch_count"
    );
    assert!(err.message().contains("empty key segment"), "{err}");
    let err = env_error(&[("BERTH__", "1")]);
    assert_eq!(err.message(), "the variable names no setting");
    let err = env_error(&[("BERTH__logging__format__", "json")]);
    assert!(err.hint().unwrap().contains("BERTH__<table>__<key>"));
}

#[test]
fn one_setting_set_by_two_variables_is_refused() {
    let err = env_error(&[
        ("BERTH__service_bus__prefetch_count", "1"),
        ("BERTH__SERVICE_BUS__PREFETCH_COUNT", "2"),
    ]);
    assert_eq!(
        err.file(),
        "environment variable BERTH__service_bus__prefetch_count"
    );
    assert_eq!(
        err.message(),
        "sets `service_bus.prefetch_count`, which BERTH__SERVICE_BUS__PREFETCH_COUNT sets too"
    );
}

#[test]
fn a_key_inside_a_value_is_refused() {
    let err = parse_host_config_with_env(
        Some("shutdown_timeout = \"5s\"\n"),
        "host.toml",
        vars(&[("BERTH__shutdown_timeout__x", "1")]),
    )
    .unwrap_err();
    assert_eq!(
        err.file(),
        "environment variable BERTH__shutdown_timeout__x"
    );
    assert_eq!(
        err.message(),
        "`shutdown_timeout` is not a table: it is set to a value in host.toml"
    );
}

#[test]
fn a_queue_against_the_files_topic_names_the_variable() {
    let text = "[functions.f]\ntopic = \"t\"\nsubscription = \"s\"\n";
    let err = parse_host_config_with_env(
        Some(text),
        "host.toml",
        vars(&[("BERTH__functions__f__queue", "q")]),
    )
    .unwrap_err();
    assert_eq!(
        err.file(),
        "environment variable BERTH__functions__f__queue"
    );
    assert_eq!(
        err.message(),
        "`queue` conflicts with `topic` (set in host.toml)"
    );
}

#[test]
fn errors_of_the_file_still_point_at_its_lines() {
    let err = parse_host_config_with_env(
        Some("[service_bus]\nprefetch_count = -1\n"),
        "host.toml",
        vars(&[("BERTH__logging__format", "json")]),
    )
    .unwrap_err();
    assert_eq!((err.file(), err.line()), ("host.toml", Some(2)));
}

#[test]
fn an_unregistered_function_is_reported_at_its_variable() {
    let config = env_only(&[("BERTH__functions__proces_orders__disabled", "true")]).unwrap();
    let err = config.check_function_names(["process_orders"]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "environment variable BERTH__functions__proces_orders__disabled: \
         [functions.proces_orders] names no registered function\n  \
         = hint: did you mean `process_orders`?"
    );
}

#[test]
fn app_settings_with_double_underscores_pass_through_by_name() {
    let settings = crate::config::AppSettings::parse("", "local.settings.toml")
        .unwrap()
        .with_env(vars(&[(
            "ServiceBusConnection__fullyQualifiedNamespace",
            "ns.servicebus.windows.net",
        )]));
    assert_eq!(
        settings.get("ServiceBusConnection__fullyQualifiedNamespace"),
        Some("ns.servicebus.windows.net")
    );
}

#[test]
fn the_connection_idle_timeout_is_read_from_the_environment_and_checked() {
    assert_eq!(
        env_only(&[]).unwrap().service_bus.connection_idle_timeout,
        Duration::from_secs(60)
    );
    let config = env_only(&[("BERTH__service_bus__connection_idle_timeout", "2s")]).unwrap();
    assert_eq!(
        config.service_bus.connection_idle_timeout,
        Duration::from_secs(2)
    );
    let error = env_error(&[("BERTH__service_bus__connection_idle_timeout", "0s")]).to_string();
    assert!(
        error.contains("BERTH__service_bus__connection_idle_timeout")
            && error.contains("between 1s and 24h"),
        "{error}"
    );
}

#[test]
fn the_ca_file_is_read_from_the_environment_and_checked() {
    assert_eq!(env_only(&[]).unwrap().service_bus.ca_file, None);
    let config = env_only(&[("BERTH__service_bus__ca_file", "/etc/corp/ca.pem")]).unwrap();
    assert_eq!(
        config.service_bus.ca_file.as_deref(),
        Some(std::path::Path::new("/etc/corp/ca.pem"))
    );
    let error = env_error(&[("BERTH__service_bus__ca_file", "")]).to_string();
    assert!(error.contains("BERTH__service_bus__ca_file"), "{error}");
    assert!(error.contains("must not be empty"), "{error}");
}
