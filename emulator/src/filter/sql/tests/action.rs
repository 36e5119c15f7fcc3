//! Rule actions: SET and REMOVE on user and system properties, in order, all or nothing.

use std::time::Duration;

use super::{assert_error, message};
use crate::filter::{MessageView, SqlAction, Value};

fn applied(action: &str) -> MessageView {
    let mut m = message();
    SqlAction::new(action, &[])
        .unwrap_or_else(|e| panic!("{action:?} was refused: {e}"))
        .apply(&mut m)
        .unwrap_or_else(|e| panic!("{action:?} failed: {e}"));
    m
}

#[test]
fn set_and_remove_user_properties() {
    let rows: &[(&str, &str, Option<Value>)] = &[
        ("SET color = 'blue'", "color", Some(Value::String("blue".into()))),
        ("SET user.color = 'blue'", "color", Some(Value::String("blue".into()))),
        ("SET fresh = 1", "fresh", Some(Value::Long(1))),
        ("SET fresh = n * 2 + 1", "fresh", Some(Value::Long(11))),
        ("SET fresh = color + '-' + n", "fresh", Some(Value::String("red-5".into()))),
        ("SET fresh = TRUE", "fresh", Some(Value::Bool(true))),
        ("SET fresh = NULL", "fresh", Some(Value::Null)),
        ("SET fresh = missing", "fresh", Some(Value::Null)),
        ("SET fresh = missing + 1", "fresh", Some(Value::Null)),
        ("SET fresh = sys.Label", "fresh", Some(Value::String("order-created".into()))),
        ("SET fresh = sys.SequenceNumber", "fresh", Some(Value::Long(42))),
        ("SET [with space] = 'y'", "with space", Some(Value::String("y".into()))),
        // Long over an existing double: C#'s implicit conversion keeps it a double.
        ("SET d = 3", "d", Some(Value::Double(3.0))),
        // Anything else replaces the value with its own type.
        ("SET n = 'five'", "n", Some(Value::String("five".into()))),
        ("SET n = 2.5", "n", Some(Value::Double(2.5))),
        // Names resolve as in filters: an existing property in another case is replaced.
        ("SET COLOR = 'blue'", "color", Some(Value::String("blue".into()))),
        ("REMOVE color", "color", None),
        ("REMOVE user.COLOR", "color", None),
        ("REMOVE missing", "missing", None),
        // Statements run in order, each seeing the ones before it; ';' is optional.
        ("SET a = 1; SET b = a + 1", "b", Some(Value::Long(2))),
        ("SET a = 1 SET b = a + 1", "b", Some(Value::Long(2))),
        ("SET a = 1; REMOVE a;", "a", None),
        ("set a = 1; remove a; Set a = 2", "a", Some(Value::Long(2))),
    ];
    for (action, key, want) in rows {
        let m = applied(action);
        assert_eq!(m.user.get(*key), want.as_ref(), "{action}");
    }
    assert!(!applied("SET COLOR = 'blue'").user.contains_key("COLOR"));
    assert!(applied("SET x = newid()").user.get("x").is_some_and(|v| matches!(v, Value::Uuid(_))));
}

#[test]
fn set_and_remove_system_properties() {
    let m = applied("SET sys.Label = 'routed'; SET sys.To = sys.To + '-x'; REMOVE sys.SessionId");
    assert_eq!(m.label.as_deref(), Some("routed"));
    assert_eq!(m.to.as_deref(), Some("store-5-x"));
    assert_eq!(m.session_id, None);
    let m = applied("SET sys.CorrelationId = color; SET SYS.contenttype = 'application/json'");
    assert_eq!(m.correlation_id.as_deref(), Some("red"));
    assert_eq!(m.content_type.as_deref(), Some("application/json"));
    let m = applied("SET sys.MessageId = NULL; SET sys.ReplyTo = 'r'; SET sys.ReplyToSessionId = 'rs'");
    assert_eq!(m.message_id, None);
    assert_eq!((m.reply_to.as_deref(), m.reply_to_session_id.as_deref()), (Some("r"), Some("rs")));
    let m = applied("SET sys.TimeToLive = span + span");
    assert_eq!(m.time_to_live, Some(Duration::from_secs(120)));
    assert_eq!(applied("REMOVE sys.TimeToLive").time_to_live, None);
}

#[test]
fn a_failing_action_names_the_statement_and_changes_nothing() {
    let rows: &[(&str, u32, u32, &str)] = &[
        ("SET a = 1; SET b = n / 0", 1, 22, "division by zero"),
        ("SET a = 1; SET b = color * 2", 1, 26, "'*' cannot be applied"),
        ("SET sys.Label = 5", 1, 15, "sys.Label takes a string, not a value of type long"),
        ("SET sys.TimeToLive = 'x'", 1, 20, "takes a timespan"),
        ("SET sys.TimeToLive = -span", 1, 20, "negative timespan"),
        ("SET a = 1\nSET b = big + 1", 2, 13, "overflow"),
    ];
    for (action, line, column, reason) in rows {
        let parsed = SqlAction::new(action, &[]).unwrap_or_else(|e| panic!("{action}: {e}"));
        let mut m = message();
        assert_error(action, parsed.apply(&mut m), *line, *column, reason);
        assert_eq!(format!("{m:?}"), format!("{:?}", message()), "{action} changed it");
    }
}

#[test]
fn parameters_and_the_expression_as_written() {
    let params = [("@level".to_owned(), Value::String("high".into()))];
    let action = SqlAction::new("SET priority = @level", &params).expect("parses");
    assert_eq!(action.expression(), "SET priority = @level");
    let mut m = MessageView::default();
    action.apply(&mut m).expect("applies");
    assert_eq!(m.user.get("priority"), Some(&Value::String("high".into())));
}
