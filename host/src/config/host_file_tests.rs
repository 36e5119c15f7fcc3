use std::path::{Path, PathBuf};
use std::time::Duration;

use super::*;
use crate::config::LogFormat;

/// The header that opens each table of `HOST_TABLES`, in the same order.
const HEADERS: [&str; 7] = [
    "",
    "[logging]\n",
    "[service_bus]\n",
    "[functions.f]\n",
    "[service_bus.retry]\nmax_attempts = 2\n",
    "[emulator]\n",
    "[ops]\n",
];

#[test]
fn table_catalogue_matches_the_structs() {
    assert_eq!(HEADERS.len(), HOST_TABLES.len());
    for (header, table) in HEADERS.iter().zip(HOST_TABLES) {
        let text = format!("{header}zzz = 1\n");
        let err = parse_host_config(&text, "host.toml").unwrap_err();
        let quoted: Vec<String> = table.keys.iter().map(|k| format!("`{k}`")).collect();
        let expected = match quoted.as_slice() {
            [a] => a.clone(),
            [a, b] => format!("{a} or {b}"),
            _ => format!("one of {}", quoted.join(", ")),
        };
        assert_eq!(
            err.message(),
            format!("unknown field `zzz`, expected {expected}"),
            "{}",
            table.name
        );
    }
}

#[test]
fn empty_text_means_defaults() {
    let config = parse_host_config("", "host.toml").unwrap();
    assert_eq!(config, HostConfig::default());
    assert_eq!(config.shutdown_timeout, Duration::from_secs(30));
    assert_eq!(config.service_bus.max_concurrent_sessions, 8);
    assert_eq!(config.emulator.host, "127.0.0.1");
}

#[test]
fn every_key_is_read() {
    let text = r#"shutdown_timeout = "PT1M"
[logging]
level = "info,berth_host=debug"
format = "json"
[service_bus]
prefetch_count = 4
max_concurrent_sessions = 3
max_concurrent_calls = 5
session_idle_timeout = "00:00:09"
max_auto_lock_renewal_duration = "0s"
auto_complete_messages = false
[functions.orders]
disabled = true
topic = "t-%Env%"
subscription = "s"
connection = "Other"
prefetch_count = 1
max_concurrent_sessions = 2
max_concurrent_calls = 6
session_idle_timeout = "2s"
max_auto_lock_renewal_duration = "10m"
auto_complete = true
[emulator]
host = "0.0.0.0"
port = 5672
data_dir = "/var/berth"
"#;
    let config = parse_host_config(text, "host.toml").unwrap();
    assert_eq!(config.shutdown_timeout, Duration::from_secs(60));
    assert_eq!(config.logging.level, "info,berth_host=debug");
    assert_eq!(config.logging.format, LogFormat::Json);
    let sb = &config.service_bus;
    assert_eq!(
        (
            sb.prefetch_count,
            sb.max_concurrent_sessions,
            sb.max_concurrent_calls
        ),
        (4, 3, 5)
    );
    assert_eq!(sb.session_idle_timeout, Duration::from_secs(9));
    assert_eq!(sb.max_auto_lock_renewal_duration, Duration::ZERO);
    assert!(!sb.auto_complete_messages);
    let f = &config.functions["orders"];
    assert!(f.disabled);
    assert_eq!(
        (f.queue.as_deref(), f.topic.as_deref()),
        (None, Some("t-%Env%"))
    );
    assert_eq!(
        (f.subscription.as_deref(), f.connection.as_deref()),
        (Some("s"), Some("Other"))
    );
    assert_eq!(
        (
            f.prefetch_count,
            f.max_concurrent_sessions,
            f.max_concurrent_calls
        ),
        (Some(1), Some(2), Some(6))
    );
    assert_eq!(f.session_idle_timeout, Some(Duration::from_secs(2)));
    assert_eq!(
        f.max_auto_lock_renewal_duration,
        Some(Duration::from_secs(600))
    );
    assert_eq!(f.auto_complete, Some(true));
    assert_eq!((f.location.line, f.location.column), (12, 12));
    assert_eq!(config.emulator.port, 5672);
    assert_eq!(
        config.emulator.data_dir.as_deref(),
        Some(Path::new("/var/berth"))
    );
}

#[test]
fn function_tables_may_be_inline_or_dotted() {
    let text = "[functions]\nb = { queue = \"qb\" }\na.queue = \"qa\"\n";
    let config = parse_host_config(text, "host.toml").unwrap();
    assert_eq!(config.functions["a"].queue.as_deref(), Some("qa"));
    assert_eq!(config.functions["a"].location.line, 3);
    assert_eq!(config.functions["b"].location.line, 2);
    let config = parse_host_config("functions.c.queue = \"qc\"\n", "host.toml").unwrap();
    assert_eq!(config.functions["c"].location.column, 11);
}

#[test]
fn queue_and_topic_conflict() {
    let text = "[functions.f]\nqueue = \"q\"\nsubscription = \"s\"\n";
    let err = parse_host_config(text, "host.toml").unwrap_err();
    assert_eq!((err.line(), err.column()), (Some(3), Some(16)));
    assert_eq!(
        err.message(),
        "`subscription` conflicts with `queue` (set at line 2)"
    );
}

#[test]
fn empty_names_are_rejected() {
    let err = parse_host_config("[functions.f]\nqueue = \" \"\n", "h").unwrap_err();
    assert_eq!((err.line(), err.message()), (Some(2), "must not be empty"));
    let err = parse_host_config("[functions.\"\"]\n", "h").unwrap_err();
    assert_eq!(err.message(), "the function name is empty");
}

#[test]
fn unquoted_times_get_a_quoting_hint() {
    let err = parse_host_config("shutdown_timeout = 00:05:00\n", "h").unwrap_err();
    assert_eq!(
        err.message(),
        "a duration must be a quoted string with a unit, found `00:05:00`"
    );
    assert_eq!(err.column(), Some(20));
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let config = parse_host_config("\u{feff}shutdown_timeout = \"1s\"\n", "h").unwrap();
    assert_eq!(config.shutdown_timeout, Duration::from_secs(1));
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn loading_missing_files() {
    let path = scratch_dir("missing").join("host.toml");
    let config = load_host_config(&path, false).unwrap();
    assert_eq!(config, HostConfig::default());
    let err = load_host_config(&path, true).unwrap_err();
    assert_eq!(err.file(), path.display().to_string());
    assert_eq!((err.message(), err.line()), ("file not found", None));
}

#[test]
fn loading_records_the_source_and_resolves_data_dir() {
    let dir = scratch_dir("load");
    let path = dir.join("host.toml");
    std::fs::write(
        &path,
        "[emulator]\ndata_dir = \"data\"\nentities = \"entities.toml\"\n",
    )
    .unwrap();
    let config = load_host_config(&path, true).unwrap();
    assert_eq!(config.source.as_deref(), Some(path.as_path()));
    assert_eq!(config.emulator.data_dir, Some(dir.join("data")));
    assert_eq!(config.emulator.entities, Some(dir.join("entities.toml")));
    std::fs::write(&path, "[emulator]\nport = 70000\n").unwrap();
    let err = load_host_config(&path, false).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{}:2:8: ", path.display())),
        "{err}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn ops_address_is_a_socket_address_and_off_by_default() {
    assert_eq!(
        parse_host_config("", "host.toml").unwrap().ops.address,
        None
    );
    let config = parse_host_config("[ops]\naddress = \"0.0.0.0:8080\"\n", "host.toml").unwrap();
    assert_eq!(config.ops.address, Some("0.0.0.0:8080".parse().unwrap()));
    let err = parse_host_config("[ops]\naddress = \"localhost:8080\"\n", "host.toml").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("host.toml:2:11: `localhost:8080` is not an IP address with a port"),
        "{err}"
    );
    assert!(
        err.hint().is_some_and(|h| h.contains("0.0.0.0:8080")),
        "{err}"
    );
    let err = parse_host_config("[ops]\naddress = 8080\n", "host.toml").unwrap_err();
    assert!(err.to_string().contains("found the number 8080"), "{err}");
}

#[test]
fn emulator_sas_rules_carry_rights_and_bad_rights_point_at_their_line() {
    use berth_emulator::rights::{Right, Rights};
    let text = "[emulator]\nhost = \"0.0.0.0\"\nallow_anonymous = true\n\
                [[emulator.sas_rules]]\nname = \"root\"\nkey = \"k1\"\n\
                [[emulator.sas_rules]]\nname = \"reader\"\nkey = \"k2\"\nrights = [\"Listen\"]\n";
    let config = parse_host_config(text, "host.toml").unwrap();
    assert!(config.emulator.allow_anonymous);
    let rules: Vec<_> = config.emulator.sas_rules.iter().map(|r| r.rule()).collect();
    assert_eq!(rules[0].rights, Rights::ALL);
    assert_eq!(
        (rules[1].name.as_str(), rules[1].key.as_str()),
        ("reader", "k2")
    );
    assert!(rules[1].rights.allows(Right::Listen) && !rules[1].rights.allows(Right::Send));
    assert!(
        !format!("{:?}", config.emulator.sas_rules).contains("k2"),
        "keys are not logged"
    );

    let err = parse_host_config(
        "[[emulator.sas_rules]]\nname = \"r\"\nkey = \"k\"\nrights = [\"Read\"]\n",
        "host.toml",
    )
    .unwrap_err();
    assert_eq!(err.line(), Some(4));
    assert!(
        err.message().contains("unknown right `Read`"),
        "{}",
        err.message()
    );
}
