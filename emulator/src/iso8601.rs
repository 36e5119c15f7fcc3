//! Times and durations written as Service Bus's management APIs write them: timestamps as
//! `2018-10-09T19:56:34.903Z` (`0001-01-01T00:00:00Z` for "never"), durations as .NET's
//! `XmlConvert` writes a `TimeSpan` (`PT1M`, `P14D`, `P10675199DT2H48M5.4775807S` for
//! `TimeSpan.MaxValue`, which is what Berth's `Duration::MAX` "never" stands for).
//!
//! Plain `std`, outside the `broker` feature: the host's `peek` command writes times with it.

use std::time::{Duration, SystemTime};

/// What Azure writes for a time that never happened (`DateTime.MinValue`).
pub const NEVER: &str = "0001-01-01T00:00:00Z";

/// 100-nanosecond ticks in .NET's `TimeSpan.MaxValue`.
const TIMESPAN_MAX_TICKS: u128 = i64::MAX as u128;

/// `at` in UTC with milliseconds, or [`NEVER`] for `None`.
pub fn timestamp(at: Option<SystemTime>) -> String {
    at.map_or_else(|| NEVER.to_owned(), utc)
}

/// `at` in UTC with milliseconds (`2026-11-23T17:01:02.345Z`); [`NEVER`] before 1970.
pub fn utc(at: SystemTime) -> String {
    let Ok(since) = at.duration_since(SystemTime::UNIX_EPOCH) else {
        return NEVER.to_owned(); // before 1970: no entity was created then
    };
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// The proleptic Gregorian date `days` after 1970-01-01 (the era-based day count).
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so that leap days end each 400-year era's years.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// `d` as an ISO 8601 duration the way .NET writes a `TimeSpan`; anything at or beyond
/// `TimeSpan.MaxValue` (such as `Duration::MAX`) is written as `TimeSpan.MaxValue`.
pub fn duration(d: Duration) -> String {
    let ticks = (d.as_nanos() / 100).min(TIMESPAN_MAX_TICKS);
    let (whole, fraction) = (ticks / 10_000_000, ticks % 10_000_000);
    let (days, hours, minutes, seconds) = (
        whole / 86_400,
        whole % 86_400 / 3600,
        whole % 3600 / 60,
        whole % 60,
    );
    let mut out = String::from("P");
    if days > 0 {
        out.push_str(&format!("{days}D"));
    }
    if hours + minutes + seconds + fraction == 0 {
        if days == 0 {
            out.push_str("T0S");
        }
        return out;
    }
    out.push('T');
    if hours > 0 {
        out.push_str(&format!("{hours}H"));
    }
    if minutes > 0 {
        out.push_str(&format!("{minutes}M"));
    }
    if seconds + fraction > 0 {
        out.push_str(&seconds.to_string());
        if fraction > 0 {
            let digits = format!("{fraction:07}");
            out.push('.');
            out.push_str(digits.trim_end_matches('0'));
        }
        out.push('S');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_dotnet_writes_them() {
        assert_eq!(duration(Duration::from_secs(60)), "PT1M");
        assert_eq!(duration(Duration::from_secs(600)), "PT10M");
        assert_eq!(duration(Duration::from_secs(14 * 86_400)), "P14D");
        assert_eq!(duration(Duration::from_millis(1_500)), "PT1.5S");
        assert_eq!(duration(Duration::from_secs(90_061)), "P1DT1H1M1S");
        assert_eq!(duration(Duration::ZERO), "PT0S");
        assert_eq!(duration(Duration::MAX), "P10675199DT2H48M5.4775807S");
    }

    #[test]
    fn timestamps_are_utc_with_milliseconds() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_539_114_994_903);
        assert_eq!(timestamp(Some(at)), "2018-10-09T19:56:34.903Z");
        assert_eq!(
            timestamp(Some(SystemTime::UNIX_EPOCH)),
            "1970-01-01T00:00:00.000Z"
        );
        let leap = SystemTime::UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(timestamp(Some(leap)), "2000-02-29T00:00:00.000Z");
        assert_eq!(timestamp(None), NEVER);
    }
}
