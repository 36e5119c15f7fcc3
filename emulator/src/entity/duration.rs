//! Durations in entity definitions: the shared grammar ([`crate::duration`]: units like
//! `"60s"` and `"1h30m"`, ISO 8601 `"PT1M"`, .NET TimeSpan `"00:01:00"`), with an error that
//! lists the formats.

use std::time::Duration;

const FORMATS: &str =
    "use units like \"60s\", \"5m\", \"1h30m\", \"250ms\", \"2d\", ISO 8601 like \"PT1M\" or \"P1DT2H\", or a TimeSpan like \"00:01:00\"";

/// Parses a duration string; the error text says why and which formats are accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse_duration(text).map_err(|e| format!("{e}; {FORMATS}"))
}
