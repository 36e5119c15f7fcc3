//! Refused expressions: each names the line and column of the offending token and why, and
//! no input (hostile nesting, huge lists, long text) panics or overflows the stack.

use crate::filter::sql::{MAX_DEPTH, MAX_EXPRESSION_CHARS, MAX_IN_LIST};
use super::assert_error;
use crate::filter::{SqlAction, SqlFilter, Value};

/// Each filter is refused at the line and column given, with a reason containing the text.
fn refused(rows: &[(&str, u32, u32, &str)]) {
    for (expr, line, column, reason) in rows {
        assert_error(expr, SqlFilter::new(expr, &[]), *line, *column, reason);
    }
}

#[test]
fn syntax_errors_name_line_column_and_reason() {
    refused(&[
        ("", 1, 1, "empty"),
        ("   ", 1, 1, "empty"),
        ("n =", 1, 4, "ends too early"),
        ("n = = 5", 1, 5, "unexpected '='"),
        ("n = 5 AND", 1, 10, "ends too early"),
        ("n = 5 color = 'red'", 1, 7, "expected AND, OR or the end"),
        ("(n = 5", 1, 7, "expected ')'"),
        ("n = 5)", 1, 6, "expected AND, OR or the end"),
        ("n = 'abc", 1, 5, "unterminated string constant"),
        ("[abc = 1", 1, 1, "unterminated delimited identifier"),
        ("\"abc = 1", 1, 1, "unterminated quoted identifier"),
        ("n = 5 #", 1, 7, "unexpected character '#'"),
        ("n ! 5", 1, 3, "unexpected character '!'"),
        ("n = 12abc", 1, 5, "malformed number"),
        ("n = 1.2.3", 1, 5, "malformed number"),
        ("n = 9223372036854775808", 1, 5, "out of the range of a long"),
        ("n = -9223372036854775809", 1, 6, "out of the range of a long"),
        ("n = 1E999", 1, 5, "out of range"),
        ("n = @", 1, 5, "parameter name must follow '@'"),
        ("n = @missing", 1, 5, "no value was given for the parameter '@missing'"),
        ("n = 5 AND\n  color = ", 2, 11, "ends too early"),
        ("n = 5\r\nAND x ==", 2, 8, "unexpected '='"),
        ("n = 5\rOR\r\n  %", 3, 3, "unexpected '%'"),
        ("n IS 5", 1, 6, "expected NULL"),
        ("n IN 5", 1, 6, "expected '('"),
        ("n IN ()", 1, 7, "unexpected ')'"),
        ("n IN (1,)", 1, 9, "unexpected ')'"),
        ("n NOT 5", 1, 1, "expected a condition"),
        ("EXISTS color", 1, 8, "expected '('"),
        ("EXISTS(1)", 1, 8, "expected a property name"),
        ("foo(1) = 1", 1, 1, "unknown function 'foo'"),
        ("newid(1) = 1", 1, 7, "expected ')'"),
        ("a.b = 1", 1, 1, "unknown scope 'a'"),
        ("sys. = 1", 1, 6, "expected a property name after 'sys.'"),
        ("sys.Nope = 1", 1, 5, "'sys.Nope' is not a system property"),
        ("sys.PartitionKey = 'a'", 1, 5, "not supported by the embedded broker"),
        ("sys.partitionkey = 'a'", 1, 5, "sys.PartitionKey"),
        ("and = 1", 1, 1, "unexpected keyword 'and'"),
        ("n = 1 AND in = 2", 1, 11, "unexpected keyword 'in'"),
        ("a = 1 = 2", 1, 7, "expected AND, OR or the end"),
        ("n LIKE 'a' ESCAPE 'ab'", 1, 19, "length 1"),
        ("n LIKE 'a' ESCAPE ''", 1, 19, "length 1"),
        ("n LIKE 'a!' ESCAPE '!'", 1, 8, "ends with its escape character"),
    ]);
}

#[test]
fn conditions_and_values_are_kept_apart() {
    refused(&[
        ("n", 1, 1, "expected a condition"),
        ("TRUE", 1, 1, "expected a condition"),
        ("n + 1", 1, 3, "expected a condition"),
        ("(n)", 1, 2, "expected a condition"),
        ("n = 1 AND color", 1, 11, "expected a condition"),
        ("flag OR n = 1", 1, 1, "expected a condition"),
        ("NOT flag", 1, 5, "expected a condition"),
        ("(n = 1) = TRUE", 1, 4, "expected a value, found a condition"),
        ("n + (n = 1) = 2", 1, 8, "expected a value, found a condition"),
        ("(n = 1) IN (TRUE)", 1, 4, "expected a value"),
        ("(n = 1) LIKE 'a'", 1, 4, "expected a value"),
        ("(n = 1) IS NULL", 1, 4, "expected a value"),
        ("-(n = 1) = 1", 1, 5, "expected a value"),
        ("p(n = 1) = 1", 1, 5, "expected ')'"),
    ]);
}

#[test]
fn the_display_reads_like_azures() {
    let err = SqlFilter::new("color = 'red' AND", &[]).map(|_| ());
    let err = err.expect_err("refused");
    assert_eq!(
        err.to_string(),
        "syntax error: the expression ends too early at line 1, column 18."
    );
}

#[test]
fn limits_refuse_hostile_input_without_panicking() {
    // Length: Azure's 1,024 characters, counted in characters, not bytes.
    let at_limit = format!("n = '{}'", "é".repeat(MAX_EXPRESSION_CHARS - 6));
    assert!(SqlFilter::new(&at_limit, &[]).is_ok());
    let over = format!("n = '{}'", "é".repeat(MAX_EXPRESSION_CHARS - 5));
    let e = SqlFilter::new(&over, &[]).map(|_| ()).expect_err("too long");
    assert!(e.reason.contains("longer than 1024"), "{e}");
    assert_eq!((e.line, e.column), (1, 1025));

    // Nesting: parentheses, NOT, unary signs, function arguments and operator chains.
    let depth = MAX_DEPTH as usize;
    let deep = |open: &str, middle: &str, close: &str, n: usize| {
        format!("{}{}{}", open.repeat(n), middle, close.repeat(n))
    };
    let hostile = [
        deep("(", "n = 1", ")", depth + 1),
        deep("(", "n = 1", ")", 400),
        deep("NOT ", "n = 1", "", depth + 1),
        deep("NOT ", "n = 1", "", 250),
        format!("{}n = 1", "-".repeat(500)),
        format!("n = {}1", "- ".repeat(depth + 1)),
        format!("{}1{} = 1", "p(".repeat(depth + 1), ")".repeat(depth + 1)),
        format!("n{} = 1", " + 1".repeat(depth + 1)),
        format!("n{} = 1", "*1".repeat(300)),
        "(".repeat(MAX_EXPRESSION_CHARS),
        "NOT ".repeat(MAX_EXPRESSION_CHARS / 4),
    ];
    for expr in &hostile {
        let e = SqlFilter::new(expr, &[]).map(|_| ()).expect_err("refused");
        assert!(
            e.reason.contains("nested more than 64") || e.reason.contains("ends too early"),
            "{}…: {e}",
            &expr[..20.min(expr.len())]
        );
    }
    let ok = [
        deep("(", "n = 1", ")", depth - 2),
        deep("NOT ", "n = 1", "", depth - 2),
        format!("n{} = 1", " + 1".repeat(depth - 2)),
    ];
    for expr in ok {
        assert!(SqlFilter::new(&expr, &[]).is_ok(), "{expr}");
    }

    // Long AND/OR chains are flat, not deep.
    let chain = vec!["n = 1"; 100].join(" OR ");
    assert!(SqlFilter::new(&chain, &[]).is_ok());

    // IN lists: at most MAX_IN_LIST values (given as parameters, to pass the length limit).
    let params: Vec<(String, Value)> = (0..=MAX_IN_LIST)
        .map(|i| (format!("@p{i}"), Value::Long(i as i64)))
        .collect();
    let list = |n: usize| (0..n).map(|i| format!("@p{i}")).collect::<Vec<_>>().join(",");
    let fits = format!("n IN ({})", list(100));
    assert!(SqlFilter::new(&fits, &params).is_ok());
    let e = SqlFilter::new(&format!("n IN ({})", list(MAX_IN_LIST)), &params)
        .map(|_| ())
        .expect_err("too long anyway");
    assert!(e.reason.contains("longer than"), "{e}");
}

#[test]
fn actions_are_refused_with_positions() {
    let rows: &[(&str, u32, u32, &str)] = &[
        ("", 1, 1, "empty"),
        ("UPDATE x = 1", 1, 1, "expected SET or REMOVE"),
        ("SET", 1, 4, "expected a property name"),
        ("SET x", 1, 6, "expected '='"),
        ("SET x 1", 1, 7, "expected '='"),
        ("SET x =", 1, 8, "ends too early"),
        ("SET x = 1 = 2", 1, 11, "expected SET or REMOVE"),
        ("SET x = (n = 1)", 1, 12, "expected a value, found a condition"),
        ("SET sys.SequenceNumber = 1", 1, 5, "cannot be changed by a rule action"),
        ("SET sys.EnqueuedTimeUtc = NULL", 1, 5, "cannot be changed"),
        ("REMOVE sys.Size", 1, 8, "cannot be changed"),
        ("SET sys.Nope = 1", 1, 9, "'sys.Nope' is not a system property"),
        ("REMOVE", 1, 7, "expected a property name"),
        ("SET x = 1;; SET y = 2", 1, 11, "expected SET or REMOVE"),
        ("SET x = @none", 1, 9, "no value was given for the parameter"),
        ("SET x = 1\nREMOVE 5", 2, 8, "expected a property name"),
    ];
    for (expr, line, column, reason) in rows {
        assert_error(expr, SqlAction::new(expr, &[]), *line, *column, reason);
    }
    let statements = vec!["SET a = 1"; 33].join("; ");
    let e = SqlAction::new(&statements, &[]).map(|_| ()).expect_err("33");
    assert!(e.reason.contains("more than 32 statements"), "{e}");
    assert!(SqlAction::new(&vec!["SET a = 1"; 32].join("; "), &[]).is_ok());
}
