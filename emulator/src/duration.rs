//! Durations as people write them: units (`30s`, `500ms`, `1h30m`, `2d`), ISO 8601 (`PT5M`,
//! `P1DT2H`) and .NET TimeSpans (`00:05:00`, `1.02:00:00`), what Service Bus and its tools
//! use. Exact to the nanosecond (no floating point) and strict, each rejection with a
//! reason. One copy for the broker's entity definitions and the host's configuration.

use std::fmt;
use std::time::Duration;

const NANOS_PER_MILLI: u128 = 1_000_000;
const NANOS_PER_SECOND: u128 = 1_000_000_000;
const NANOS_PER_MINUTE: u128 = 60 * NANOS_PER_SECOND;
const NANOS_PER_HOUR: u128 = 60 * NANOS_PER_MINUTE;
const NANOS_PER_DAY: u128 = 24 * NANOS_PER_HOUR;

/// Why a duration string was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurationError {
    text: String,
    reason: String,
}

impl DurationError {
    fn new(text: &str, reason: impl Into<String>) -> Self {
        DurationError {
            text: text.to_owned(),
            reason: reason.into(),
        }
    }

    /// What was wrong with the text.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid duration `{}`: {}", self.text, self.reason)
    }
}

impl std::error::Error for DurationError {}

/// Parses a duration in any of the accepted formats (see the module docs).
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let nanos = if trimmed.is_empty() {
        Err("it is empty".to_owned())
    } else if trimmed.starts_with('-') {
        Err("durations cannot be negative".to_owned())
    } else if trimmed.starts_with(['P', 'p']) {
        parse_iso8601(&trimmed[1..])
    } else if trimmed.contains(':') {
        parse_timespan(trimmed)
    } else {
        parse_units(trimmed)
    };
    let nanos = nanos.map_err(|reason| DurationError::new(text, reason))?;
    let secs = u64::try_from(nanos / NANOS_PER_SECOND)
        .map_err(|_| DurationError::new(text, "it is too large"))?;
    // The remainder is below 10^9 and fits in u32.
    let sub = (nanos % NANOS_PER_SECOND) as u32;
    Ok(Duration::new(secs, sub))
}

/// A decimal number split at its point: `12.5` is (`12`, `5`).
struct Decimal<'a> {
    whole: &'a str,
    fraction: &'a str,
}

impl Decimal<'_> {
    /// Reads a decimal number at the start of `text`; returns it and the rest.
    fn read(text: &str) -> Option<(Decimal<'_>, &str)> {
        let whole_len = text.bytes().take_while(u8::is_ascii_digit).count();
        let (whole, rest) = text.split_at(whole_len);
        let (fraction, rest) = match rest.strip_prefix('.') {
            Some(after) => {
                let len = after.bytes().take_while(u8::is_ascii_digit).count();
                after.split_at(len)
            }
            None => ("", rest),
        };
        if whole.is_empty() && fraction.is_empty() {
            return None;
        }
        Some((Decimal { whole, fraction }, rest))
    }

    /// The number times `unit` nanoseconds, truncated to whole nanoseconds.
    fn nanos(&self, unit: u128) -> Result<u128, String> {
        if self.whole.len() > 20 || self.fraction.len() > 18 {
            return Err("it has too many digits".to_owned());
        }
        let whole: u128 = if self.whole.is_empty() {
            0
        } else {
            self.whole.parse().map_err(|_| "bad number".to_owned())?
        };
        let mut total = whole
            .checked_mul(unit)
            .ok_or_else(|| "it is too large".to_owned())?;
        if !self.fraction.is_empty() {
            let digits: u128 = self.fraction.parse().map_err(|_| "bad number".to_owned())?;
            let scale = 10u128.pow(self.fraction.len() as u32);
            total += digits * unit / scale;
        }
        Ok(total)
    }
}

/// `1h30m`, `500ms`, `2d 4h`: components with units, largest first.
fn parse_units(text: &str) -> Result<u128, String> {
    let mut rest = text;
    let mut total: u128 = 0;
    let mut previous: Option<(&str, u128)> = None;
    while !rest.is_empty() {
        let (amount, after) =
            Decimal::read(rest).ok_or_else(|| format!("expected a number at `{rest}`"))?;
        let after = after.trim_start();
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let scale = match unit {
            "ms" => NANOS_PER_MILLI,
            "s" => NANOS_PER_SECOND,
            "m" => NANOS_PER_MINUTE,
            "h" => NANOS_PER_HOUR,
            "d" => NANOS_PER_DAY,
            "" if previous.is_none() && after.is_empty() => {
                return Err(format!("the unit is missing (for seconds write `{text}s`)"))
            }
            "" => return Err(format!("the unit is missing after `{}`", amount.whole)),
            other => {
                return Err(format!(
                    "unknown unit `{other}` (use `ms`, `s`, `m`, `h` or `d`)"
                ))
            }
        };
        if let Some((previous_unit, previous_scale)) = previous {
            if scale >= previous_scale {
                return Err(format!(
                    "`{unit}` comes after `{previous_unit}`; write units once each, largest first"
                ));
            }
        }
        total = total
            .checked_add(amount.nanos(scale)?)
            .ok_or_else(|| "it is too large".to_owned())?;
        previous = Some((unit, scale));
        rest = after.trim_start();
    }
    Ok(total)
}

/// ISO 8601 after the `P`: `[nD][T[nH][nM][nS]]`.
fn parse_iso8601(text: &str) -> Result<u128, String> {
    let upper = text.to_ascii_uppercase();
    let (date, time) = match upper.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (upper.as_str(), None),
    };
    let mut total = iso_components(date, &[('D', NANOS_PER_DAY)], "before `T`")?;
    if let Some(time) = time {
        if time.is_empty() {
            return Err("nothing follows `T`".to_owned());
        }
        let units = [
            ('H', NANOS_PER_HOUR),
            ('M', NANOS_PER_MINUTE),
            ('S', NANOS_PER_SECOND),
        ];
        total += iso_components(time, &units, "after `T`")?;
    } else if date.is_empty() {
        return Err("nothing follows `P`".to_owned());
    }
    Ok(total)
}

/// Components such as `1H30M`, each unit at most once and in the order of `units`.
fn iso_components(mut text: &str, units: &[(char, u128)], part: &str) -> Result<u128, String> {
    let mut total: u128 = 0;
    let mut next_unit = 0;
    while !text.is_empty() {
        let (amount, after) =
            Decimal::read(text).ok_or_else(|| format!("expected a number at `{text}`"))?;
        let designator = after
            .chars()
            .next()
            .ok_or_else(|| "the last number has no unit designator".to_owned())?;
        if matches!(designator, 'Y' | 'W') || (designator == 'M' && part == "before `T`") {
            return Err(
                "years, months and weeks are not supported; use days (`P1D`) or time (`PT5M`)"
                    .to_owned(),
            );
        }
        let position = units[next_unit..]
            .iter()
            .position(|(unit, _)| *unit == designator)
            .ok_or_else(|| format!("unexpected `{designator}` {part}"))?;
        let (_, scale) = units[next_unit + position];
        total += amount.nanos(scale)?;
        next_unit += position + 1;
        text = &after[designator.len_utf8()..];
    }
    Ok(total)
}

/// .NET TimeSpan: `[d.]hh:mm[:ss[.fffffff]]`.
fn parse_timespan(text: &str) -> Result<u128, String> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() > 3 {
        return Err("too many `:` (write `hh:mm:ss` or `d.hh:mm:ss`)".to_owned());
    }
    let (days, hours) = match parts[0].split_once('.') {
        Some((days, hours)) => (number(days, "days")?, hours),
        None => (0, parts[0]),
    };
    let hours = number(hours, "hours")?;
    let minutes = number(parts[1], "minutes")?;
    let (seconds, fraction) = match parts.get(2) {
        Some(seconds) => match seconds.split_once('.') {
            Some((whole, fraction)) => (number(whole, "seconds")?, fraction),
            None => (number(seconds, "seconds")?, ""),
        },
        None => (0, ""),
    };
    if hours > 23 {
        return Err(format!(
            "hours must be 0-23, found {hours} (write days as `d.hh:mm:ss`)"
        ));
    }
    if minutes > 59 {
        return Err(format!("minutes must be 0-59, found {minutes}"));
    }
    if seconds > 59 {
        return Err(format!("seconds must be 0-59, found {seconds}"));
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("bad fraction of a second `{fraction}`"));
    }
    let fraction = Decimal {
        whole: "",
        fraction,
    }
    .nanos(NANOS_PER_SECOND)?;
    days.checked_mul(NANOS_PER_DAY)
        .and_then(|d| d.checked_add(hours * NANOS_PER_HOUR + minutes * NANOS_PER_MINUTE))
        .and_then(|t| t.checked_add(seconds * NANOS_PER_SECOND + fraction))
        .ok_or_else(|| "it is too large".to_owned())
}

/// A whole number field of a TimeSpan.
fn number(text: &str, what: &str) -> Result<u128, String> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("expected a whole number of {what}, found `{text}`"));
    }
    text.parse()
        .map_err(|_| format!("expected a whole number of {what}, found `{text}`"))
}

#[cfg(test)]
#[path = "duration_tests.rs"]
mod tests;
