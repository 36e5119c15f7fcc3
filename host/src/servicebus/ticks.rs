//! Times on the wire: .NET ticks (`com.microsoft:locked-until-utc`, converted by the
//! broker's [`berth_emulator::ticks`]: one copy) and AMQP timestamps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use berth_emulator::ticks::from_ticks;
use fe2o3_amqp_types::primitives::{Timestamp, Value};

/// An AMQP timestamp (milliseconds since the Unix epoch) as a `SystemTime`.
pub(crate) fn from_millis(millis: i64) -> Option<SystemTime> {
    let millis = u64::try_from(millis).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_millis(millis))
}

/// A `SystemTime` as an AMQP timestamp (before the epoch clamps to 0).
pub(crate) fn to_timestamp(at: SystemTime) -> Timestamp {
    let millis = at
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    Timestamp::from_milliseconds(millis)
}

/// Reads the session lock expiry from the attach property: an AMQP long of .NET ticks (what
/// Service Bus sends), tolerating an AMQP timestamp.
pub(crate) fn locked_until(value: &Value) -> Option<SystemTime> {
    match value {
        Value::Long(ticks) => from_ticks(*ticks),
        Value::Ulong(ticks) => from_ticks(i64::try_from(*ticks).ok()?),
        Value::Timestamp(ts) => from_millis(ts.milliseconds()),
        _ => None,
    }
}

/// Reads a time annotation: an AMQP timestamp, tolerating a long of milliseconds.
pub(crate) fn time_value(value: &Value) -> Option<SystemTime> {
    match value {
        Value::Timestamp(ts) => from_millis(ts.milliseconds()),
        Value::Long(ms) => from_millis(*ms),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_expiry_accepts_ticks_and_timestamps() {
        let at = UNIX_EPOCH + Duration::from_secs(1_704_067_200);
        assert_eq!(
            locked_until(&Value::Long(638_396_640_000_000_000)),
            Some(at)
        );
        assert_eq!(
            locked_until(&Value::Timestamp(Timestamp::from_milliseconds(
                1_704_067_200_000
            ))),
            Some(at)
        );
        assert_eq!(locked_until(&Value::String("x".into())), None);
    }

    #[test]
    fn timestamps_round_trip() {
        let at = UNIX_EPOCH + Duration::from_millis(1_704_067_200_123);
        assert_eq!(from_millis(to_timestamp(at).milliseconds()), Some(at));
        assert_eq!(from_millis(-1), None);
        assert_eq!(time_value(&Value::Long(5)), from_millis(5));
    }
}
