//! The `sql_filter` harness: arbitrary text parsed as a SQL filter and as a rule action,
//! evaluated and applied against a message built from the same input.
//!
//! Input: `FILTER \0 ACTION \0 PROPERTIES`, where PROPERTIES is lines of `name=value`; a
//! name `sys.X` sets a system property, anything else a user property; a value `i:N` is a
//! long, `d:N` a double, `b:0|1` a boolean, `t:N` a datetime (seconds after the epoch),
//! `s:N` a timespan (seconds), `u:` a uuid, `o:` an uncomparable value, `n:` null, anything
//! else a string. Missing parts are empty.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use berth_emulator::filter::{MessageView, SqlAction, SqlError, SqlFilter, Value};

/// Runs one input.
pub fn run(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\0');
    let filter = parts.next().unwrap_or("");
    let action = parts.next().unwrap_or("");
    let message = message(parts.next().unwrap_or(""));
    let params = parameters();
    for expr in [filter, action] {
        check_filter(expr, &params, &message);
        check_action(expr, &params, &message);
    }
}

fn check_filter(expr: &str, params: &[(String, Value)], message: &MessageView) {
    match SqlFilter::new(expr, params) {
        Ok(f) => {
            assert_eq!(f.expression(), expr);
            let evaluated = f.evaluate(message);
            assert_eq!(f.matches(message), matches!(evaluated, Ok(Some(true))));
            if let Err(e) = evaluated {
                check_error(&e, expr);
            }
        }
        Err(e) => check_error(&e, expr),
    }
}

fn check_action(expr: &str, params: &[(String, Value)], message: &MessageView) {
    match SqlAction::new(expr, params) {
        Ok(a) => {
            let mut copy = message.clone();
            if let Err(e) = a.apply(&mut copy) {
                check_error(&e, expr);
                // A failed action changes nothing.
                assert_eq!(format!("{copy:?}"), format!("{message:?}"));
            }
        }
        Err(e) => check_error(&e, expr),
    }
}

/// An error points at a line of the text and says something.
fn check_error(e: &SqlError, expr: &str) {
    let breaks = expr.replace("\r\n", "\n").matches(['\n', '\r']).count();
    assert!(e.line >= 1 && e.column >= 1, "{e:?}");
    assert!(e.line as usize <= breaks + 1, "{e:?} for {expr:?}");
    assert!(!e.reason.is_empty());
    let _ = e.to_string();
}

fn parameters() -> Vec<(String, Value)> {
    vec![
        ("@s".to_owned(), Value::String("x".into())),
        ("@n".to_owned(), Value::Long(5)),
        ("@d".to_owned(), Value::Double(2.5)),
        ("@b".to_owned(), Value::Bool(true)),
        ("@z".to_owned(), Value::Null),
    ]
}

/// The message PROPERTIES describe.
pub fn message(properties: &str) -> MessageView {
    let mut m = MessageView::default();
    let mut user = BTreeMap::new();
    for line in properties.lines() {
        let (name, raw) = line.split_once('=').unwrap_or((line, ""));
        let value = value(raw);
        match name.strip_prefix("sys.") {
            Some(sys) => set_sys(&mut m, sys, raw, value),
            None => {
                user.insert(name.to_owned(), value);
            }
        }
    }
    m.user = user;
    m
}

fn value(raw: &str) -> Value {
    let (kind, rest) = raw.split_once(':').unwrap_or(("", raw));
    let secs = || Duration::from_secs(rest.parse::<u32>().unwrap_or(0).into());
    match kind {
        "i" => Value::Long(rest.parse().unwrap_or(i64::MAX)),
        "d" => Value::Double(rest.parse().unwrap_or(f64::NAN)),
        "b" => Value::Bool(rest == "1"),
        "t" => Value::DateTime(UNIX_EPOCH + secs()),
        "s" => Value::Duration(secs()),
        "u" => Value::Uuid([rest.len() as u8; 16]),
        "o" => Value::Other,
        "n" => Value::Null,
        _ => Value::String(raw.to_owned()),
    }
}

fn set_sys(m: &mut MessageView, name: &str, raw: &str, value: Value) {
    let text = Some(raw.to_owned());
    let long = match value {
        Value::Long(n) => n,
        _ => 0,
    };
    match name {
        "MessageId" => m.message_id = text,
        "CorrelationId" => m.correlation_id = text,
        "To" => m.to = text,
        "ReplyTo" => m.reply_to = text,
        "Label" => m.label = text,
        "SessionId" => m.session_id = text,
        "ReplyToSessionId" => m.reply_to_session_id = text,
        "ContentType" => m.content_type = text,
        "Size" => m.size = long,
        "DeliveryCount" => m.delivery_count = long,
        "SequenceNumber" => m.sequence_number = Some(long),
        "TimeToLive" => m.time_to_live = Some(Duration::from_secs(long.unsigned_abs())),
        "EnqueuedTimeUtc" => {
            m.enqueued_time_utc =
                Some(UNIX_EPOCH + Duration::from_secs(long.unsigned_abs() % (1 << 40)))
        }
        "ScheduledEnqueueTimeUtc" => m.scheduled_enqueue_time_utc = Some(UNIX_EPOCH),
        _ => {}
    }
}

/// Seed inputs: filters and actions from Azure's documentation and our tests.
pub fn seeds() -> Vec<Vec<u8>> {
    let props = "color=red\nn=i:5\nd=d:2.5\nflag=b:1\nwhen=t:1000\nspan=s:60\nid=u:\nblob=o:\nnul=n:\nName With Space=x\nsys.Label=order-created\nsys.To=store-5\nsys.MessageId=m1\nsys.Size=i:100\nsys.SequenceNumber=i:42\nsys.EnqueuedTimeUtc=i:2000\nsys.TimeToLive=i:3600";
    let cases: [(&str, &str); 14] = [
        ("color = 'red' AND n > 4", "SET color = 'blue'"),
        (
            "sys.Label LIKE '%order%' OR user.tag IN ('queue', 'topic')",
            "SET sys.Label = sys.Label + '-routed'; REMOVE n",
        ),
        (
            "StoreId IN ('Store1', 'Store2', 'Store3')",
            "SET a = 1 SET b = a + 1",
        ),
        (
            "sys.To NOT IN ('Store1','Store2') OR StoreId NOT IN ('Store1')",
            "REMOVE sys.SessionId",
        ),
        (
            "source = @s AND n = @n AND d = @d AND flag = @b AND @z IS NULL",
            "SET source = @s",
        ),
        (
            "[Name With Space] = 'x' AND \"color\" <> 'it''s'",
            "SET [x y] = newid()",
        ),
        (
            "NOT (n + 2 * 3 - -1 / 1 % 7 >= 1.5E2) AND d < 101.5E5",
            "SET d = n * 2.0",
        ),
        (
            "pct LIKE 'ABC\\%' ESCAPE '\\' OR color NOT LIKE '_e%'",
            "SET sys.TimeToLive = span + span",
        ),
        (
            "EXISTS(color) AND missing IS NULL AND nul IS NOT NULL",
            "SET x = missing",
        ),
        (
            "when + span > when AND sys.EnqueuedTimeUtc - when > span",
            "SET t = sys.ExpiresAtUtc",
        ),
        (
            "property('co' + 'lor') = 'red' OR p('sys.Label') IS NULL",
            "SET y = p('n') + 1",
        ),
        ("newid() <> newid() and 1 = 1", "set z = 'a' + 1E20 + TRUE"),
        (
            "sys.Size > 10 AND sys.SequenceNumber <= 42 AND sys.DeliveryCount = 0",
            "SET sys.CorrelationId = NULL",
        ),
        (
            "n / 0 = 1 OR big + 1 > 0",
            "SET q = 9223372036854775807 + 1",
        ),
    ];
    cases
        .iter()
        .map(|(f, a)| format!("{f}\0{a}\0{props}").into_bytes())
        .collect()
}
