//! Grammar coverage: each operator, literal, property form, keyword case and function.

use super::{filter, message, truth_table};
use crate::filter::{SqlFilter, Value};

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const U: Option<bool> = None;

#[test]
fn comparison_operators_on_longs_doubles_and_strings() {
    truth_table(&[
        ("n = 5", T),
        ("n = 6", F),
        ("n <> 5", F),
        ("n != 6", T),
        ("n > 4", T),
        ("n > 5", F),
        ("n >= 5", T),
        ("n < 5", F),
        ("n <= 5", T),
        ("n < 6", T),
        ("d = 2.5", T),
        ("d > 2", T),
        ("d < 2.51", T),
        ("color = 'red'", T),
        ("color = 'Red'", F),
        ("color <> 'blue'", T),
        ("'red' = color", T),
        ("5 = 5", T),
        ("1 = 1", T),
        ("1 = 2", F),
    ]);
}

#[test]
fn and_or_not_and_precedence() {
    truth_table(&[
        ("n = 5 AND color = 'red'", T),
        ("n = 5 AND color = 'blue'", F),
        ("n = 6 OR color = 'red'", T),
        ("n = 6 OR color = 'blue'", F),
        ("NOT n = 6", T),
        ("NOT NOT n = 6", F),
        ("NOT (n = 5)", F),
        // AND binds tighter than OR.
        ("n = 6 AND color = 'blue' OR flag = TRUE", T),
        ("n = 6 AND (color = 'blue' OR flag = TRUE)", F),
        ("n = 5 OR n = 6 AND n = 7", T),
        ("(n = 5 OR n = 6) AND n = 7", F),
        // NOT binds tighter than AND.
        ("NOT n = 6 AND n = 5", T),
        ("a = 1 OR b = 2 OR c = 3 OR n = 5", T),
        ("n = 5 AND d = 2.5 AND flag = TRUE AND color = 'red'", T),
    ]);
}

#[test]
fn in_not_in_like_not_like_is_null_exists() {
    truth_table(&[
        ("color IN ('blue', 'red')", T),
        ("color IN ('blue')", F),
        ("color NOT IN ('blue', 'green')", T),
        ("color NOT IN ('red')", F),
        ("n IN (1, 2, 5)", T),
        ("n IN (5.0)", T),
        ("n IN (n - 1 + 1)", T),
        ("color LIKE 'r%'", T),
        ("color NOT LIKE 'r%'", F),
        ("color LIKE 'b%'", F),
        ("nul IS NULL", T),
        ("missing IS NULL", T),
        ("color IS NULL", F),
        ("color IS NOT NULL", T),
        ("missing IS NOT NULL", F),
        ("EXISTS(color)", T),
        ("EXISTS(nul)", T),
        ("EXISTS(missing)", F),
        ("NOT EXISTS(missing)", T),
        ("EXISTS (user.color)", T),
        ("EXISTS(sys.Label)", T),
        ("EXISTS(sys.CorrelationId)", F),
    ]);
}

#[test]
fn arithmetic_and_unary_signs() {
    truth_table(&[
        ("n + 1 = 6", T),
        ("n - 1 = 4", T),
        ("n * 2 = 10", T),
        ("n / 2 = 2", T),
        ("n % 2 = 1", T),
        ("-n = -5", T),
        ("+n = 5", T),
        ("- -n = 5", T),
        ("n + 2 * 3 = 11", T),
        ("(n + 2) * 3 = 21", T),
        ("n - 2 - 1 = 2", T),
        ("20 / 2 / 5 = 2", T),
        ("-7 / 2 = -3", T),
        ("-7 % 2 = -1", T),
        ("d * 2 = 5", T),
        ("n + 0.5 = 5.5", T),
        ("n / 2.0 = 2.5", T),
        ("7.5 % 2 = 1.5", T),
        ("'a' + 'b' = 'ab'", T),
        ("color + '!' = 'red!'", T),
        ("'n=' + n = 'n=5'", T),
        ("'d=' + d = 'd=2.5'", T),
        ("'f=' + flag = 'f=True'", T),
        ("'x' + 1E20 = 'x1E+20'", T),
        ("'x' + 0.00001 = 'x1E-05'", T),
        ("'x' + 0.0001 = 'x0.0001'", T),
    ]);
}

#[test]
fn literals() {
    truth_table(&[
        ("'it''s' = 'it' + '''' + 's'", T),
        ("'' = ''", T),
        ("1894.1204 > 1894", T),
        ("2.0 = 2", T),
        (".5 = 0.5", T),
        ("101.5E5 = 10150000", T),
        ("0.5E-2 = 0.005", T),
        ("1e3 = 1000", T),
        ("1E+3 = 1000", T),
        ("9223372036854775807 = big", T),
        ("-9223372036854775808 = small", T),
        ("TRUE = flag", T),
        ("FALSE = flag", F),
        ("true = flag", T),
        ("NULL IS NULL", T),
        ("'ünï' = [café]", T),
    ]);
}

#[test]
fn property_forms_and_case() {
    truth_table(&[
        ("user.color = 'red'", T),
        ("USER.color = 'red'", T),
        ("[color] = 'red'", T),
        ("\"color\" = 'red'", T),
        ("[Name With Space] = 'x'", T),
        ("user.[Name With Space] = 'x'", T),
        // Property names are case-insensitive (Azure's docs); the exact name wins.
        ("COLOR = 'red'", T),
        ("mixedcase = 'm'", T),
        ("sys.Label = 'order-created'", T),
        ("sys.label = 'order-created'", T),
        ("SYS.LABEL = 'order-created'", T),
        ("sys.MessageId = 'mid-1'", T),
        ("sys.To = 'store-5'", T),
        ("sys.SessionId = 's1'", T),
        ("sys.Size = 100", T),
        ("sys.DeliveryCount = 1", T),
        ("sys.SequenceNumber = 42", T),
        ("sys.CorrelationId IS NULL", T),
        ("sys.ReplyTo IS NULL", T),
        ("sys.ContentType IS NULL", T),
        ("sys.ReplyToSessionId IS NULL", T),
        ("sys.ScheduledEnqueueTimeUtc IS NULL", T),
        ("sys.TimeToLive > span", T),
        ("sys.ExpiresAtUtc - sys.EnqueuedTimeUtc = sys.TimeToLive", T),
        ("sys.EnqueuedTimeUtc > when", T),
        ("sys.Label LIKE 'order%' AND user.color IN ('red')", T),
    ]);
}

#[test]
fn keywords_are_case_insensitive() {
    truth_table(&[
        ("n = 5 and color = 'red'", T),
        ("n = 6 Or color = 'red'", T),
        ("not n = 6", T),
        ("color in ('red')", T),
        ("color not in ('red')", F),
        ("color like 'r_d'", T),
        ("pct like '50\\%' escape '\\'", T),
        ("nul is null", T),
        ("color is not null", T),
        ("exists(color)", T),
        ("Exists(color)", T),
    ]);
}

#[test]
fn whitespace_and_line_breaks_are_insignificant() {
    truth_table(&[
        ("n=5", T),
        ("  n\t=\n5  ", T),
        ("n = 5\r\nAND\rcolor = 'red'", T),
        ("color IN('red')", T),
        ("EXISTS(color)AND(n=5)", T),
    ]);
}

#[test]
fn parameters_are_substituted() {
    let params = [
        ("@color".to_owned(), Value::String("red".into())),
        ("limit".to_owned(), Value::Long(3)),
        ("@Ratio".to_owned(), Value::Double(2.5)),
        ("@on".to_owned(), Value::Bool(true)),
        ("@nothing".to_owned(), Value::Null),
    ];
    let m = message();
    for (expr, want) in [
        ("color = @color", true),
        ("n > @limit", true),
        ("d = @ratio", true),
        ("flag = @on", true),
        ("@nothing IS NULL", true),
        ("color IN (@color, 'x')", true),
        ("color LIKE @color", true),
        ("n < @limit", false),
    ] {
        let f = SqlFilter::new(expr, &params).unwrap_or_else(|e| panic!("{expr}: {e}"));
        assert_eq!(f.matches(&m), want, "{expr}");
        assert_eq!(f.expression(), expr);
    }
}

#[test]
fn functions() {
    truth_table(&[
        ("property('color') = 'red'", T),
        ("p('color') = 'red'", T),
        ("P('co' + 'lor') = 'red'", T),
        ("property('sys.Label') = 'order-created'", T),
        ("property('user.n') = 5", T),
        ("property('missing') IS NULL", T),
        ("property('sys.Nope') IS NULL", T),
        ("property(NULL) IS NULL", T),
        ("newid() IS NOT NULL", T),
        ("newid() = newid()", F),
        ("NEWID() <> newid()", T),
    ]);
}

#[test]
fn the_expression_is_kept_as_written() {
    let text = "  color = 'red'  ";
    assert_eq!(filter(text).expression(), text);
    assert!(!filter("color = 'red'").matches(&crate::filter::MessageView::default()));
}

#[test]
fn unknown_results_do_not_match() {
    truth_table(&[("missing = 1", U), ("NOT missing = 1", U)]);
}
