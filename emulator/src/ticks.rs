//! .NET ticks: 100 ns intervals since 0001-01-01 UTC, what Service Bus sends as
//! `com.microsoft:locked-until-utc` (a session's lock expiry on attach). One copy for the
//! broker (which writes them) and the host's client (which reads them).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// .NET ticks at the Unix epoch (`new DateTime(1970, 1, 1).Ticks`).
pub const TICKS_AT_UNIX_EPOCH: i64 = 621_355_968_000_000_000;

/// .NET `DateTime.Ticks` of a UTC time, to the microsecond (saturating far outside the
/// range .NET can represent).
pub fn to_ticks(at: SystemTime) -> i64 {
    let micros = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_micros()).unwrap_or(i64::MAX / 10),
        Err(before) => -i64::try_from(before.duration().as_micros()).unwrap_or(i64::MAX / 10),
    };
    TICKS_AT_UNIX_EPOCH.saturating_add(micros.saturating_mul(10))
}

/// The time of a .NET ticks value; `None` before the Unix epoch (e.g. the
/// `DateTime.MinValue` sentinel, 0), which no lock expiry can be.
pub fn from_ticks(ticks: i64) -> Option<SystemTime> {
    let since_epoch = u64::try_from(ticks.checked_sub(TICKS_AT_UNIX_EPOCH)?).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_nanos(since_epoch).saturating_mul(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `new DateTime(2024, 1, 1, 0, 0, 0, DateTimeKind.Utc).Ticks` and its Unix seconds.
    const NEW_YEAR_2024: (i64, u64) = (638_396_640_000_000_000, 1_704_067_200);

    #[test]
    fn ticks_match_dotnet() {
        let at = UNIX_EPOCH + Duration::from_secs(NEW_YEAR_2024.1);
        assert_eq!(to_ticks(at), NEW_YEAR_2024.0);
        assert_eq!(to_ticks(UNIX_EPOCH), TICKS_AT_UNIX_EPOCH);
        assert_eq!(from_ticks(NEW_YEAR_2024.0), Some(at));
        assert_eq!(from_ticks(TICKS_AT_UNIX_EPOCH), Some(UNIX_EPOCH));
        assert_eq!(
            from_ticks(TICKS_AT_UNIX_EPOCH + 15),
            Some(UNIX_EPOCH + Duration::from_nanos(1500))
        );
    }

    #[test]
    fn times_round_trip_to_the_microsecond() {
        let at = UNIX_EPOCH + Duration::from_micros(1_704_067_200_123_456);
        assert_eq!(from_ticks(to_ticks(at)), Some(at));
    }

    #[test]
    fn before_the_epoch_and_extremes() {
        assert_eq!(from_ticks(0), None);
        assert_eq!(from_ticks(TICKS_AT_UNIX_EPOCH - 1), None);
        assert_eq!(from_ticks(i64::MIN), None);
        assert!(from_ticks(i64::MAX).is_some());
        let before = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(to_ticks(before), TICKS_AT_UNIX_EPOCH - 10_000_000);
    }
}
