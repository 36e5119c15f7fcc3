//! Wall-clock conversions for the wire: AMQP timestamps (ms since the Unix epoch) and .NET
//! ticks (100 ns since 0001-01-01 UTC, what `com.microsoft:locked-until-utc` carries).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// .NET ticks at the Unix epoch.
const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;

/// Milliseconds since the Unix epoch (negative before it).
pub fn unix_ms(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

/// The time `ms` milliseconds after (or before, if negative) the Unix epoch.
pub fn from_unix_ms(ms: i64) -> SystemTime {
    let magnitude = Duration::from_millis(ms.unsigned_abs());
    if ms >= 0 {
        UNIX_EPOCH.checked_add(magnitude).unwrap_or(UNIX_EPOCH)
    } else {
        UNIX_EPOCH.checked_sub(magnitude).unwrap_or(UNIX_EPOCH)
    }
}

/// .NET `DateTime.Ticks` of a UTC time.
pub fn dotnet_ticks(at: SystemTime) -> i64 {
    let micros = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX / 10),
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX / 10),
    };
    TICKS_AT_UNIX_EPOCH.saturating_add(micros.saturating_mul(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_match_dotnet() {
        // new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks
        let at = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(dotnet_ticks(at), 638_396_640_000_000_000);
        assert_eq!(dotnet_ticks(UNIX_EPOCH), TICKS_AT_UNIX_EPOCH);
    }

    #[test]
    fn milliseconds_round_trip() {
        for ms in [0, 1_700_000_000_123, -5_000] {
            assert_eq!(unix_ms(from_unix_ms(ms)), ms);
        }
    }
}
