//! Table-driven tests of the SQL filter and action language: one table per concern, every row
//! naming its expression when it fails.

mod action;
mod bench;
mod errors;
mod filter;
mod semantics;

use std::time::{Duration, UNIX_EPOCH};

use crate::filter::{MessageView, SqlError, SqlFilter, Value};

/// The message the tables evaluate against.
fn message() -> MessageView {
    let mut m = MessageView {
        message_id: Some("mid-1".into()),
        label: Some("order-created".into()),
        to: Some("store-5".into()),
        session_id: Some("s1".into()),
        size: 100,
        delivery_count: 1,
        sequence_number: Some(42),
        enqueued_time_utc: Some(UNIX_EPOCH + Duration::from_secs(2_000)),
        time_to_live: Some(Duration::from_secs(3_600)),
        ..MessageView::default()
    };
    let user = [
        ("color", Value::String("red".into())),
        ("n", Value::Long(5)),
        ("d", Value::Double(2.5)),
        ("flag", Value::Bool(true)),
        ("s", Value::String("15".into())),
        ("nul", Value::Null),
        ("big", Value::Long(i64::MAX)),
        ("small", Value::Long(i64::MIN)),
        ("when", Value::DateTime(UNIX_EPOCH + Duration::from_secs(1_000))),
        ("span", Value::Duration(Duration::from_secs(60))),
        ("id", Value::Uuid([7; 16])),
        ("blob", Value::Other),
        ("Name With Space", Value::String("x".into())),
        ("MixedCase", Value::String("m".into())),
        ("pct", Value::String("50%".into())),
        ("café", Value::String("ünï".into())),
        ("nan", Value::Double(f64::NAN)),
    ];
    m.user = user.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
    m
}

/// Parses `expr` without parameters, failing the test with the parse error.
fn filter(expr: &str) -> SqlFilter {
    SqlFilter::new(expr, &[]).unwrap_or_else(|e| panic!("{expr:?} was refused: {e}"))
}

/// Each expression evaluates to the expected three-valued result against [`message`].
fn truth_table(rows: &[(&str, Option<bool>)]) {
    let m = message();
    for (expr, want) in rows {
        let got = filter(expr).evaluate(&m);
        assert_eq!(got, Ok(*want), "{expr}");
        assert_eq!(filter(expr).matches(&m), *want == Some(true), "{expr}");
    }
}

/// `result` is an error at `line`:`column` whose reason contains `reason`.
fn assert_error<T>(what: &str, result: Result<T, SqlError>, line: u32, column: u32, reason: &str) {
    match result {
        Ok(_) => panic!("{what:?} succeeded; expected an error containing {reason:?}"),
        Err(e) => {
            assert!(e.reason.contains(reason), "{what:?}: {e}");
            assert_eq!((e.line, e.column), (line, column), "{what:?}: {e}");
        }
    }
}

/// Each expression parses but fails at run time with a reason containing the text, and does
/// not match.
fn runtime_errors(rows: &[(&str, &str)]) {
    let m = message();
    for (expr, reason) in rows {
        let f = filter(expr);
        match f.evaluate(&m) {
            Err(SqlError { reason: r, .. }) => assert!(r.contains(reason), "{expr}: {r}"),
            other => panic!("{expr}: expected an error containing {reason:?}, got {other:?}"),
        }
        assert!(!f.matches(&m), "{expr}");
    }
}
