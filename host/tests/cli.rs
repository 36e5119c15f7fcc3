//! The `host` binary as a user runs it.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn host() -> Command {
    Command::new(env!("CARGO_BIN_EXE_host"))
}

fn temp_file(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("berth-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn validate_points_at_the_broken_line_and_fails() {
    let config = temp_file(
        "broken-host.toml",
        "shutdown_timeout = \"30s\"\n\n[service_bus]\nmax_concurrent_sessions = \"eight\"\n",
    );
    let out = host()
        .arg("validate")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("broken-host.toml:4:"), "{stderr}");
    assert!(
        stderr.contains("max_concurrent_sessions = \"eight\""),
        "{stderr}"
    );
}

#[test]
fn an_explicit_missing_file_is_an_error() {
    let out = host()
        .args(["validate", "--config", "/nonexistent/host.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("file not found"));
}

#[test]
fn functions_json_lists_nothing_for_the_bare_host() {
    let out = host().args(["functions", "--json"]).output().unwrap();
    assert!(out.status.success());
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list, serde_json::json!([]));
}

#[test]
fn validate_names_a_bad_environment_variable_and_fails() {
    let out = host()
        .arg("validate")
        .env("BERTH__service_bus__max_concurent_sessions", "16")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "environment variable BERTH__service_bus__max_concurent_sessions: unknown field"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean `max_concurrent_sessions`?"),
        "{stderr}"
    );
}

#[test]
fn validate_accepts_host_settings_from_the_environment() {
    let out = host()
        .arg("validate")
        .env("BERTH__SERVICE_BUS__MAX_CONCURRENT_SESSIONS", "16")
        .env("BERTH__logging__format", "json")
        .env("BERTH__shutdown_timeout", "10s")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
}

#[test]
fn deploy_keda_without_enabled_functions_says_there_is_nothing_to_scale() {
    let out = host()
        .args(["deploy", "keda", "--deployment", "orders-app"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("no enabled function"), "{stderr}");
}

#[test]
fn environment_variables_that_are_not_utf8_are_ignored_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let not_utf8 = std::ffi::OsStr::from_bytes(b"\xff\xfe");
    let out = host()
        .arg("validate")
        .env("BERTH_TEST_NOT_UTF8", not_utf8)
        .env(not_utf8, "x")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
