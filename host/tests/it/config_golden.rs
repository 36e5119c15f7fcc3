//! Golden tests for configuration errors: every `tests/golden/*.toml` is an invalid file
//! (`host_*.toml` a host config, `settings_*.toml` an app settings file) whose error must
//! read exactly as its sibling `.err`. `BLESS=1 cargo test -p berth-host --test it
//! config_golden` rewrites the `.err` files. Also checks that the documented example files
//! parse.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::fs;
use std::path::{Path, PathBuf};

use berth_host::config::{
    load_host_config, parse_host_config, resolve, AppSettings, ConfigError, EmulatorConfig,
    HostConfig, LoggingConfig, ServiceBusSettings, SettingSource,
};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn files_with_extension(extension: &str) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(golden_dir())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    paths
}

/// The error a fixture produces, by its name.
fn error_for(name: &str, text: &str) -> Result<ConfigError, String> {
    let result = if name.starts_with("host_") {
        parse_host_config(text, name).map(drop)
    } else if name.starts_with("settings_") {
        AppSettings::parse(text, name).map(drop)
    } else {
        return Err(format!(
            "{name}: fixtures are named host_*.toml or settings_*.toml"
        ));
    };
    result
        .err()
        .ok_or_else(|| format!("{name}: parsed without an error"))
}

#[test]
fn errors_match_golden_files() {
    let bless = std::env::var("BLESS").is_ok_and(|v| v == "1");
    let fixtures = files_with_extension("toml");
    assert!(fixtures.len() >= 10, "only {} fixtures", fixtures.len());
    let mut failures = Vec::new();
    for path in &fixtures {
        let name = path.file_name().unwrap().to_str().unwrap();
        let text = fs::read_to_string(path).unwrap();
        let error = match error_for(name, &text) {
            Ok(error) => error,
            Err(failure) => {
                failures.push(failure);
                continue;
            }
        };
        let actual = format!("{error}\n");
        if let (Some(line), Some(column)) = (error.line(), error.column()) {
            let prefix = format!("{}:{line}:{column}: ", error.file());
            assert!(
                actual.starts_with(&prefix),
                "{name}: accessors disagree with\n{actual}"
            );
        }
        let golden = path.with_extension("err");
        if bless {
            fs::write(&golden, &actual).unwrap();
            continue;
        }
        match fs::read_to_string(&golden) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{name}: expected\n{expected}--- but got\n{actual}---"
            )),
            Err(_) => failures.push(format!("{name}: no {}; run with BLESS=1", golden.display())),
        }
    }
    for golden in files_with_extension("err") {
        if !golden.with_extension("toml").exists() {
            failures.push(format!("{} has no .toml", golden.display()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn host_toml_example_parses_and_documents_the_defaults() {
    let path = repo_root().join("host.toml.example");
    let config = load_host_config(&path, true).unwrap();
    let defaults = HostConfig::default();
    assert_eq!(config.shutdown_timeout, defaults.shutdown_timeout);
    assert_eq!(config.logging, LoggingConfig::default());
    assert_eq!(config.service_bus, ServiceBusSettings::default());
    assert_eq!(config.emulator, EmulatorConfig::default());
    let overrides = &config.functions["process_session_message"];
    assert_eq!(overrides.max_concurrent_sessions, Some(2));
    let text = fs::read_to_string(&path).unwrap();
    let header = text
        .lines()
        .position(|line| line == "[functions.process_session_message]")
        .unwrap();
    assert_eq!(overrides.location.line, header + 1);
    assert_eq!(overrides.location.column, "[functions.".len() + 1);
}

#[test]
fn local_settings_example_parses() {
    let path = repo_root().join("local.settings.toml.example");
    let settings = AppSettings::load(&path, true).unwrap().with_env(Vec::new());
    let connection = settings.get("ServiceBusConnection").unwrap();
    assert!(
        connection.contains("UseDevelopmentEmulator=true"),
        "{connection}"
    );
    assert_eq!(
        resolve("%OrdersQueue%", &settings).unwrap(),
        "orders-with-sessions"
    );
    assert!(matches!(
        settings.source_of("OrdersQueue"),
        Some(SettingSource::File(location)) if location.line > 0
    ));
}

/// Every truncation of the examples (many kinds of broken file) gives a config or an error
/// with a position, never a panic.
#[test]
fn truncated_files_fail_with_positions() {
    for (file, host) in [
        ("host.toml.example", true),
        ("local.settings.toml.example", false),
    ] {
        let text = fs::read_to_string(repo_root().join(file)).unwrap();
        let mut errors = 0;
        for end in (0..text.len()).filter(|&i| text.is_char_boundary(i)) {
            let result = if host {
                parse_host_config(&text[..end], file).map(drop)
            } else {
                AppSettings::parse(&text[..end], file).map(drop)
            };
            if let Err(error) = result {
                errors += 1;
                assert!(error.line().is_some(), "{file}[..{end}]: {error}");
                assert!(
                    error.to_string().contains(" |\n"),
                    "{file}[..{end}]: {error}"
                );
            }
        }
        assert!(errors > 0, "{file}: no truncation failed");
    }
}
