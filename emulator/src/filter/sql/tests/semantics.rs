//! Semantics: three-valued logic, type coercions, datetimes and timespans, LIKE edge cases
//! and run-time errors.

use super::{runtime_errors, truth_table};

const T: Option<bool> = Some(true);
const F: Option<bool> = Some(false);
const U: Option<bool> = None;

#[test]
fn and_or_not_follow_azures_three_valued_tables() {
    // T: n = 5, F: n = 6, U: missing = 1 (a missing property is unknown).
    let (t, f, u) = ("n = 5", "n = 6", "missing = 1");
    let rows = [
        (t, t, T, T),
        (t, f, F, T),
        (t, u, U, T),
        (f, t, F, T),
        (f, f, F, F),
        (f, u, F, U),
        (u, t, U, T),
        (u, f, F, U),
        (u, u, U, U),
    ];
    for (a, b, and, or) in rows {
        truth_table(&[
            (&format!("{a} AND {b}"), and),
            (&format!("({a}) OR ({b})"), or),
        ]);
    }
    truth_table(&[("NOT n = 5", F), ("NOT n = 6", T), ("NOT missing = 1", U)]);
}

#[test]
fn unknown_and_null_propagate() {
    truth_table(&[
        ("missing = missing", U),
        ("missing <> 1", U),
        ("nul = NULL", U),
        ("nul <> 1", U),
        ("NULL = NULL", U),
        ("missing + 1 = 1", U),
        ("-missing = 1", U),
        ("missing LIKE 'a%'", U),
        ("missing NOT LIKE 'a%'", U),
        ("color LIKE NULL", U),
        ("missing IN ('a')", U),
        ("missing NOT IN ('a')", U),
        // x IN (a, b) is x = a OR x = b: a NULL in the list can only make it unknown.
        ("color IN ('red', NULL)", T),
        ("color IN ('blue', NULL)", U),
        ("color NOT IN ('blue', NULL)", U),
        ("missing IS NULL OR missing = 1", T),
        ("'a' + missing IS NULL", T),
    ]);
}

#[test]
fn numbers_promote_long_to_double() {
    truth_table(&[
        ("n = 5.0", T),
        ("5.0 = n", T),
        ("n < 5.5", T),
        ("d > n", F),
        ("n + d = 7.5", T),
        ("big = 9223372036854775807.0", T),
        ("n / 2 = 2", T),
        ("n / 2.0 = 2.5", T),
        ("1 / 0.0 > 1E308", T),
        ("-1 / 0.0 < -1E308", T),
        // NaN compares unequal to everything, itself included.
        ("nan = nan", F),
        ("nan <> nan", T),
        ("nan < 1", F),
        ("nan >= 1", F),
        ("0.0 / 0.0 = 0.0 / 0.0", F),
    ]);
}

#[test]
fn strings_versus_numbers_and_booleans_do_not_convert() {
    runtime_errors(&[
        ("s > 10", "type string and long"),
        ("s = 15", "type string and long"),
        ("n = '5'", "type long and string"),
        ("flag = 1", "type boolean and long"),
        ("flag = 'True'", "type boolean and string"),
        ("color > 'a'", "'>' cannot be applied to operands of type string and string"),
        ("color < 'z'", "type string and string"),
        ("flag > FALSE", "type boolean and boolean"),
        ("id > id", "type uuid and uuid"),
        ("blob = 1", "uncomparable"),
        ("color - 'd' = 1", "'-' cannot be applied"),
        ("color * 2 = 1", "'*' cannot be applied"),
        ("-color = 1", "'-' cannot be applied to an operand of type string"),
        ("+flag = 1", "'+' cannot be applied to an operand of type boolean"),
        ("flag + flag = 1", "type boolean and boolean"),
        ("n LIKE '5'", "LIKE"),
        ("color LIKE 5", "LIKE"),
        ("color IN (1)", "type string and long"),
        ("property(5) IS NULL", "property()"),
    ]);
}

#[test]
fn booleans_uuids_compare_for_equality() {
    truth_table(&[
        ("flag = TRUE", T),
        ("flag <> FALSE", T),
        ("id = id", T),
        ("id <> newid()", T),
    ]);
}

#[test]
fn datetimes_and_timespans() {
    truth_table(&[
        ("when < sys.EnqueuedTimeUtc", T),
        ("when = when", T),
        ("when >= when", T),
        ("sys.EnqueuedTimeUtc - when > span", T),
        ("when + span > when", T),
        ("span + when > when", T),
        ("when - span < when", T),
        ("span + span > span", T),
        ("span - span < span", T),
        ("-span < span", T),
        ("+span = span", T),
        ("sys.ExpiresAtUtc > sys.EnqueuedTimeUtc", T),
        ("sys.ScheduledEnqueueTimeUtc > when", U),
    ]);
    runtime_errors(&[
        ("when = 5", "type datetime and long"),
        ("when + when = when", "type datetime and datetime"),
        ("span - when = when", "type timespan and datetime"),
        ("when * 2 = when", "'*'"),
        ("span = '00:01:00'", "type timespan and string"),
    ]);
}

#[test]
fn overflow_and_division_by_zero_are_errors() {
    runtime_errors(&[
        ("big + 1 > 0", "overflow in '+'"),
        ("small - 1 < 0", "overflow in '-'"),
        ("big * 2 > 0", "overflow in '*'"),
        ("small / -1 > 0", "overflow in '/'"),
        ("small % -1 = 0", "overflow in '%'"),
        ("-small > 0", "overflow in '-'"),
        ("n / 0 = 1", "division by zero"),
        ("n % 0 = 1", "division by zero"),
    ]);
    // An error stops the evaluation: it does not hide behind OR's other operand …
    runtime_errors(&[("n / 0 = 1 OR n = 5", "division by zero")]);
    // … but OR and AND stop as soon as the result is known, left to right.
    truth_table(&[("n = 5 OR n / 0 = 1", T), ("n = 6 AND n / 0 = 1", F)]);
}

#[test]
fn like_wildcards_and_escapes() {
    truth_table(&[
        ("color LIKE 'red'", T),
        ("color LIKE 're'", F),
        ("color LIKE 'r%'", T),
        ("color LIKE '%d'", T),
        ("color LIKE '%e%'", T),
        ("color LIKE '%x%'", F),
        ("color LIKE '%'", T),
        ("color LIKE '%%'", T),
        ("color LIKE '___'", T),
        ("color LIKE '__'", F),
        ("color LIKE '____'", F),
        ("color LIKE 'r_d'", T),
        ("color LIKE '_e_'", T),
        ("color LIKE 'r%d'", T),
        ("color LIKE 'r%e%d'", T),
        ("color LIKE 'r%x%d'", F),
        ("color LIKE '%r%e%d%'", T),
        ("color LIKE 'RED'", F),
        ("color LIKE ''", F),
        ("'' LIKE ''", T),
        ("'' LIKE '%'", T),
        ("'' LIKE '_'", F),
        ("'aaa' LIKE '%a'", T),
        ("'abcabd' LIKE '%ab_'", T),
        ("'abcabd' LIKE 'a%b%d'", T),
        ("'mississippi' LIKE '%iss%ipp%'", T),
        ("'mississippi' LIKE 'm%issip%i'", T),
        ("'mississippi' LIKE 'm%issipx%i'", F),
        ("[café] LIKE '_n_'", T),
        ("[café] LIKE 'ü%'", T),
        // ESCAPE makes the next character literal.
        ("pct LIKE '50\\%' ESCAPE '\\'", T),
        ("'50x' LIKE '50\\%' ESCAPE '\\'", F),
        ("pct LIKE '50%'", T),
        ("'a_c' LIKE 'a!_c' ESCAPE '!'", T),
        ("'abc' LIKE 'a!_c' ESCAPE '!'", F),
        ("'a!c' LIKE 'a!!c' ESCAPE '!'", T),
        ("'abc' LIKE 'a!bc' ESCAPE '!'", T),
        ("'ABC%' LIKE 'ABC\\%' ESCAPE '\\'", T),
        ("'ABCD' LIKE 'ABC\\%' ESCAPE '\\'", F),
        // A pattern computed per message.
        ("color LIKE 'r' + '%'", T),
        ("pct LIKE '50#%' ESCAPE '#' + ''", T),
        ("color LIKE property('color')", T),
        ("color LIKE 'x%' ESCAPE NULL", U),
    ]);
    runtime_errors(&[
        ("color LIKE 'r' + '!' ESCAPE '!'", "ends with its escape character"),
        ("color LIKE 'r' + '' ESCAPE 'ab' + ''", "length 1"),
    ]);
}
