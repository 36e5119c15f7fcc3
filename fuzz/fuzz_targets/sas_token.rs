//! SAS tokens as `$cbs` receives them: parsing, verification against a rule, and the
//! audience check.
#![no_main]
use std::time::{Duration, UNIX_EPOCH};

use berth_emulator::sas::{self, SasRule};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (token, audience) = text.split_once('\n').unwrap_or((text, "sb://localhost/q"));
    let rules = [SasRule::new("RootManageSharedAccessKey", "fuzz-key")];
    let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    if let Ok(parsed) = sas::parse(token) {
        let _ = sas::resource_covers(&parsed.resource, audience);
    }
    let _ = sas::verify(token, audience, &rules, now);
});
