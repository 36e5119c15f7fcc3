//! The values an expression computes with: [`Val`] borrows strings from the message or the
//! parsed expression (no allocation to read or compare), keeps datetimes and timespans as
//! .NET ticks (100 ns) so their arithmetic is plain checked integer arithmetic, and converts
//! to and from the public [`Value`].

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::filter::Value;

/// Ticks (100 ns) per second.
const TICKS_PER_SECOND: i64 = 10_000_000;

/// One value during evaluation. `Null` stands for both an explicit null and SQL's unknown
/// (a missing property): every operator treats them alike, only `EXISTS` tells them apart
/// and it looks at the message, not at a value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Val<'a> {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str(Cow<'a, str>),
    /// Ticks since the Unix epoch (negative before it).
    DateTime(i64),
    /// Ticks, signed.
    TimeSpan(i64),
    Uuid([u8; 16]),
    /// Present, but no operator applies to it.
    Other,
}

impl<'a> Val<'a> {
    /// A borrowed string.
    pub fn borrowed(s: &'a str) -> Self {
        Val::Str(Cow::Borrowed(s))
    }

    /// The value of `v`, borrowing its string.
    pub fn of(v: &'a Value) -> Self {
        match v {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Long(n) => Val::Long(*n),
            Value::Double(d) => Val::Double(*d),
            Value::String(s) => Val::borrowed(s),
            Value::DateTime(t) => datetime_ticks(*t),
            Value::Duration(d) => timespan_ticks(*d),
            Value::Uuid(u) => Val::Uuid(*u),
            Value::Other => Val::Other,
        }
    }

    /// The type's name in error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::Null => "null",
            Val::Bool(_) => "boolean",
            Val::Long(_) => "long",
            Val::Double(_) => "double",
            Val::Str(_) => "string",
            Val::DateTime(_) => "datetime",
            Val::TimeSpan(_) => "timespan",
            Val::Uuid(_) => "uuid",
            Val::Other => "an uncomparable type",
        }
    }

    /// The public value to store, or why it cannot be stored (a negative timespan, a
    /// datetime out of `SystemTime`'s range).
    pub fn into_value(self) -> Result<Value, &'static str> {
        Ok(match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(b),
            Val::Long(n) => Value::Long(n),
            Val::Double(d) => Value::Double(d),
            Val::Str(s) => Value::String(s.into_owned()),
            Val::DateTime(t) => Value::DateTime(system_time(t).ok_or("datetime out of range")?),
            Val::TimeSpan(t) => {
                Value::Duration(duration(t).ok_or("a negative timespan cannot be stored")?)
            }
            Val::Uuid(u) => Value::Uuid(u),
            Val::Other => Value::Other,
        })
    }
}

/// A datetime as ticks since the epoch; [`Val::Other`] beyond ±29,000 years.
pub(crate) fn datetime_ticks(t: SystemTime) -> Val<'static> {
    let ticks = match t.duration_since(UNIX_EPOCH) {
        Ok(after) => ticks_of(after),
        Err(before) => ticks_of(before.duration()).and_then(i64::checked_neg),
    };
    ticks.map_or(Val::Other, Val::DateTime)
}

/// A duration as ticks; [`Val::Other`] when it does not fit.
pub(crate) fn timespan_ticks(d: Duration) -> Val<'static> {
    ticks_of(d).map_or(Val::Other, Val::TimeSpan)
}

fn ticks_of(d: Duration) -> Option<i64> {
    let secs = i64::try_from(d.as_secs()).ok()?;
    secs.checked_mul(TICKS_PER_SECOND)?
        .checked_add(i64::from(d.subsec_nanos() / 100))
}

fn duration(ticks: i64) -> Option<Duration> {
    let ticks = u64::try_from(ticks).ok()?;
    let per = TICKS_PER_SECOND.unsigned_abs();
    let nanos = u32::try_from((ticks % per) * 100).ok()?;
    Some(Duration::new(ticks / per, nanos))
}

fn system_time(ticks: i64) -> Option<SystemTime> {
    match duration(ticks) {
        Some(after) => UNIX_EPOCH.checked_add(after),
        None => UNIX_EPOCH.checked_sub(duration(ticks.checked_neg()?)?),
    }
}

/// How .NET's `ToString()` writes a double (shortest round-trip digits; scientific notation
/// from 1E+15 up and from 1E-05 down), for `string + double`.
pub(crate) fn dotnet_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if d == 0.0 {
        return if d.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{d:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..15).contains(&exponent) {
        let sign = if exponent < 0 { '-' } else { '+' };
        let mantissa = mantissa.to_uppercase();
        return format!("{mantissa}E{sign}{:02}", exponent.unsigned_abs());
    }
    format!("{d}")
}

/// How .NET's `ToString()` writes a boolean.
pub(crate) fn dotnet_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}
