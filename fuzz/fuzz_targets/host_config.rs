//! The host's configuration files: `host.toml` (with `BERTH__…` environment overrides) and
//! `local.settings.toml`, and the duration syntax they share.
#![no_main]
use berth_host::config::{parse_duration, parse_host_config_with_env, AppSettings, ENV_PREFIX};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Lines after a `#--env` line are `NAME=value` overrides.
    let (file, env) = text.split_once("#--env\n").unwrap_or((text, ""));
    let vars: Vec<(String, String)> = env
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (format!("{ENV_PREFIX}{k}"), v.to_owned()))
        .collect();
    let _ = parse_host_config_with_env(Some(file), "host.toml", vars);
    let _ = AppSettings::parse(file, "local.settings.toml");
    let _ = parse_duration(file);
});
