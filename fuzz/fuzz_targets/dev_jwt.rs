//! Development JWTs as `$cbs` receives them.
#![no_main]
use std::time::{Duration, UNIX_EPOCH};

use berth_emulator::node::dev_jwt;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = dev_jwt::looks_like_jwt(token);
    let _ = dev_jwt::check(token, UNIX_EPOCH + Duration::from_secs(1_800_000_000));
});
