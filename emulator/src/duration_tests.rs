use std::time::Duration;

use super::*;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn unit_suffixes() {
    let cases = [
        ("30s", secs(30)),
        ("500ms", ms(500)),
        ("5m", secs(300)),
        ("1h", secs(3600)),
        ("1h30m", secs(5400)),
        ("1h 30m 15s", secs(5415)),
        ("2d", secs(2 * 86_400)),
        ("1.5s", ms(1500)),
        (".25s", ms(250)),
        ("0s", secs(0)),
        ("1m500ms", ms(60_500)),
        (" 10s ", secs(10)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
}

#[test]
fn iso_8601() {
    let cases = [
        ("PT5M", secs(300)),
        ("PT1H30M", secs(5400)),
        ("PT0.5S", ms(500)),
        ("pt10s", secs(10)),
        ("P1D", secs(86_400)),
        ("P1DT2H", secs(93_600)),
        ("PT1H0.5S", ms(3_600_500)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
}

#[test]
fn dotnet_timespan() {
    let cases = [
        ("00:05:00", secs(300)),
        ("01:30:00", secs(5400)),
        ("1.02:00:00", secs(93_600)),
        ("00:00:00.5", ms(500)),
        ("00:00:01.1234567", Duration::new(1, 123_456_700)),
        ("00:10", secs(600)),
        ("0:0:7", secs(7)),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_duration(text), Ok(expected), "{text}");
    }
}

#[test]
fn rejects_with_a_reason() {
    let cases = [
        ("", "it is empty"),
        ("30", "the unit is missing (for seconds write `30s`)"),
        ("-5s", "durations cannot be negative"),
        (
            "5 minutes",
            "unknown unit `minutes` (use `ms`, `s`, `m`, `h` or `d`)",
        ),
        (
            "30m1h",
            "`h` comes after `m`; write units once each, largest first",
        ),
        (
            "5s5s",
            "`s` comes after `s`; write units once each, largest first",
        ),
        ("1h30", "the unit is missing after `30`"),
        ("s", "expected a number at `s`"),
        (
            "P1M",
            "years, months and weeks are not supported; use days (`P1D`) or time (`PT5M`)",
        ),
        ("P", "nothing follows `P`"),
        ("PT", "nothing follows `T`"),
        ("PT5", "the last number has no unit designator"),
        ("PT5S1M", "unexpected `M` after `T`"),
        ("P1H", "unexpected `H` before `T`"),
        (
            "24:00:00",
            "hours must be 0-23, found 24 (write days as `d.hh:mm:ss`)",
        ),
        ("00:60:00", "minutes must be 0-59, found 60"),
        ("00:00:60", "seconds must be 0-59, found 60"),
        ("1:2:3:4", "too many `:` (write `hh:mm:ss` or `d.hh:mm:ss`)"),
        ("aa:00", "expected a whole number of hours, found `aa`"),
        ("00:00:01.x", "bad fraction of a second `x`"),
        ("99999999999999999999999d", "it has too many digits"),
        ("9999999999999999999d", "it is too large"),
    ];
    for (text, reason) in cases {
        let err = parse_duration(text).expect_err(text);
        assert_eq!(err.reason(), reason, "{text}");
    }
}

#[test]
fn error_names_the_text() {
    let err = parse_duration("5 minutes").unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid duration `5 minutes`: "),
        "{err}"
    );
}

#[test]
fn dotnet_timespan_max_value_in_both_forms() {
    // TimeSpan.MaxValue: what Service Bus reports for "never" (e.g. auto-delete-on-idle).
    let max = Duration::new(922_337_203_685, 477_580_700);
    assert_eq!(parse_duration("P10675199DT2H48M5.4775807S"), Ok(max));
    assert_eq!(parse_duration("10675199.02:48:05.4775807"), Ok(max));
}
