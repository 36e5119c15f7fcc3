//! Humane duration strings: `"60s"`, `"5m"`, `"1h30m"`, `"250ms"`, ISO 8601 `"PT1M"`,
//! and .NET TimeSpan `"00:01:00"` / `"1.02:03:04.5"`.

use std::time::Duration;

const FORMATS: &str =
    "use units like \"60s\", \"5m\", \"1h30m\", \"250ms\", \"2d\", ISO 8601 like \"PT1M\" or \"P1DT2H\", or a TimeSpan like \"00:01:00\"";

/// Parses a humane duration string; the error text says which formats are accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    let bad = |why: &str| format!("invalid duration '{text}': {why}; {FORMATS}");
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    let parsed = if s.starts_with(['P', 'p']) {
        parse_iso(&s[1..])
    } else if s.contains(':') {
        parse_timespan(s)
    } else {
        parse_units(s)
    };
    parsed.map_err(|why| bad(&why))
}

fn seconds(value: f64, unit_secs: f64) -> Result<Duration, String> {
    let secs = value * unit_secs;
    if !secs.is_finite() || secs < 0.0 {
        return Err("the value is out of range".into());
    }
    Duration::try_from_secs_f64(secs).map_err(|_| "the value is out of range".to_string())
}

fn add(a: Duration, b: Duration) -> Result<Duration, String> {
    a.checked_add(b)
        .ok_or_else(|| "the value is out of range".to_string())
}

/// `1h30m`, `60s`, `1.5s`, `250ms`, `2d`, `1w`.
fn parse_units(s: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| "a number needs a unit".to_string())?;
        if num_len == 0 {
            return Err(format!("expected a number at '{rest}'"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("'{}' is not a number", &rest[..num_len]))?;
        rest = rest[num_len..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.' || c.is_whitespace())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        let unit_secs = match unit.to_ascii_lowercase().as_str() {
            "ms" => 0.001,
            "s" | "sec" | "secs" => 1.0,
            "m" | "min" | "mins" => 60.0,
            "h" | "hr" | "hrs" => 3600.0,
            "d" | "day" | "days" => 86_400.0,
            "w" => 604_800.0,
            other => return Err(format!("unknown unit '{other}'")),
        };
        total = add(total, seconds(value, unit_secs)?)?;
        rest = rest[unit_len..].trim_start();
    }
    Ok(total)
}

/// ISO 8601 after the `P`: `[nW][nD][T[nH][nM][nS]]` (years and months are ambiguous, refused).
fn parse_iso(s: &str) -> Result<Duration, String> {
    let mut total = Duration::ZERO;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for c in s.chars() {
        match c.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            d if d.is_ascii_digit() || d == '.' || d == ',' => {
                number.push(if d == ',' { '.' } else { d })
            }
            unit => {
                let value: f64 = number
                    .parse()
                    .map_err(|_| format!("missing number before '{unit}'"))?;
                number.clear();
                let unit_secs = match (in_time, unit) {
                    (false, 'W') => 604_800.0,
                    (false, 'D') => 86_400.0,
                    (true, 'H') => 3600.0,
                    (true, 'M') => 60.0,
                    (true, 'S') => 1.0,
                    (false, 'Y' | 'M') => return Err("years and months are not supported".into()),
                    _ => return Err(format!("unexpected '{unit}'")),
                };
                total = add(total, seconds(value, unit_secs)?)?;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return Err("an ISO 8601 duration needs a unit after each number".into());
    }
    Ok(total)
}

/// .NET TimeSpan: `[d.]hh:mm[:ss[.fffffff]]`.
fn parse_timespan(s: &str) -> Result<Duration, String> {
    let (days, clock) = match s.split_once(':') {
        Some((head, _)) if head.contains('.') => {
            let (d, _) = head.split_once('.').unwrap_or((head, ""));
            let days: u64 = d.parse().map_err(|_| format!("bad day count '{d}'"))?;
            (days, &s[d.len() + 1..])
        }
        _ => (0, s),
    };
    let parts: Vec<&str> = clock.split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Err("a TimeSpan has the form [d.]hh:mm[:ss[.fff]]".into());
    }
    let hours: u64 = parts[0]
        .parse()
        .map_err(|_| format!("bad hours '{}'", parts[0]))?;
    let minutes: u64 = parts[1]
        .parse()
        .map_err(|_| format!("bad minutes '{}'", parts[1]))?;
    let secs: f64 = match parts.get(2) {
        Some(p) => p.parse().map_err(|_| format!("bad seconds '{p}'"))?,
        None => 0.0,
    };
    if minutes >= 60 || secs >= 60.0 {
        return Err("minutes and seconds must be below 60".into());
    }
    let whole = days
        .checked_mul(86_400)
        .and_then(|d| d.checked_add(hours.checked_mul(3600)?))
        .and_then(|d| d.checked_add(minutes * 60))
        .ok_or_else(|| "the value is out of range".to_string())?;
    add(Duration::from_secs(whole), seconds(secs, 1.0)?)
}
