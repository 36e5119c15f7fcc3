//! What each operator does with each pair of types. Azure documents that operators "follow
//! C# implicit conversion semantics whenever possible" and that an unknown (missing) operand
//! makes the result unknown; the rest is chosen here and written down.
//!
//! | operands | `=` `<>` | `<` `<=` `>` `>=` | `+` | `-` | `*` `/` `%` |
//! |---|---|---|---|---|---|
//! | NULL / missing with anything | unknown | unknown | NULL | NULL | NULL |
//! | long, long | exact | exact | checked¹ | checked¹ | checked¹, `/ 0` and `% 0` error² |
//! | long or double, double | as doubles (C# promotes long to double; NaN is unequal to everything) | as doubles | IEEE | IEEE | IEEE (`/ 0` is ±∞ or NaN, as in C#) |
//! | string, string | ordinal, case-sensitive | error³ | concatenation | error | error |
//! | string, long / double / boolean (either order) | error⁴ | error⁴ | concatenation (.NET `ToString()`: `True`, `1E+20`) | error | error |
//! | boolean, boolean | yes | error | error | error | error |
//! | datetime, datetime | yes | yes | error | timespan | error |
//! | datetime, timespan | error | error | datetime (either order) | datetime (datetime − timespan) | error |
//! | timespan, timespan | yes | yes | timespan | timespan | error |
//! | uuid, uuid | yes | error | error | error | error |
//! | any other pair, or an uncomparable (binary, list, map) value | error | error | error | error | error |
//!
//! Unary `-` negates a long (checked¹), a double or a timespan; unary `+` accepts those and
//! returns them unchanged; on anything else both are errors; on NULL both give NULL.
//!
//! ¹ **Overflow** of long (or tick) arithmetic is an error, not a wrapped value: C#'s default
//! is to wrap silently, but a filter that routes on a wrapped number routes wrongly without
//! anyone noticing; an error makes the filter not match and an action fail, visibly.
//! ² **Division by zero** of longs is an error, as C# throws `DivideByZeroException`.
//! ³ **Ordering strings** is an error, as C# defines no `<` on strings (only `==`/`!=`).
//! ⁴ **String versus number** is an error: C# has no implicit conversion between them, and
//! Azure's filter `Quantity > 10` does not match a message whose `Quantity` is the string
//! `'15'` (reported by users: MicrosoftDocs/azure-docs#56144).
//!
//! An **error** makes a filter not match (as an exception thrown by Azure's evaluation would;
//! `OR`/`AND` evaluate left to right and stop as soon as the result is known) and makes a
//! rule action fail with the operator's line and column.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::ast::{ArithOp, CompareOp};
use super::value::{dotnet_bool, dotnet_double, Val};

/// Why an operator could not be applied (formatted only when reported).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpError {
    /// The operator is not defined for these types.
    Types(&'static str, &'static str, &'static str),
    /// The unary operator is not defined for this type.
    Unary(&'static str, &'static str),
    Overflow(&'static str),
    DivideByZero,
}

impl OpError {
    /// The reason, as an error message says it.
    pub fn reason(self) -> String {
        match self {
            OpError::Types(op, l, r) => {
                format!("operator '{op}' cannot be applied to operands of type {l} and {r}")
            }
            OpError::Unary(op, t) => {
                format!("operator '{op}' cannot be applied to an operand of type {t}")
            }
            OpError::Overflow(op) => format!("arithmetic overflow in '{op}'"),
            OpError::DivideByZero => "division by zero".into(),
        }
    }
}

/// `l op r`: `Some(truth)`, `None` for unknown.
pub(crate) fn compare(op: CompareOp, l: &Val<'_>, r: &Val<'_>) -> Result<Option<bool>, OpError> {
    let ordering = match (l, r) {
        (Val::Null, _) | (_, Val::Null) => return Ok(None),
        (Val::Long(a), Val::Long(b)) => Some(a.cmp(b)),
        (Val::Long(_) | Val::Double(_), Val::Long(_) | Val::Double(_)) => {
            as_double(l).partial_cmp(&as_double(r))
        }
        (Val::DateTime(a), Val::DateTime(b)) | (Val::TimeSpan(a), Val::TimeSpan(b)) => {
            Some(a.cmp(b))
        }
        (Val::Str(a), Val::Str(b)) if is_equality(op) => Some(if a == b {
            Ordering::Equal
        } else {
            Ordering::Less
        }),
        (Val::Bool(a), Val::Bool(b)) if is_equality(op) => Some(a.cmp(b)),
        (Val::Uuid(a), Val::Uuid(b)) if is_equality(op) => Some(a.cmp(b)),
        _ => return Err(OpError::Types(op.symbol(), l.type_name(), r.type_name())),
    };
    // `None`: a NaN is involved; only `<>` holds.
    Ok(Some(match ordering {
        None => op == CompareOp::Ne,
        Some(o) => match op {
            CompareOp::Eq => o == Ordering::Equal,
            CompareOp::Ne => o != Ordering::Equal,
            CompareOp::Gt => o == Ordering::Greater,
            CompareOp::Ge => o != Ordering::Less,
            CompareOp::Lt => o == Ordering::Less,
            CompareOp::Le => o != Ordering::Greater,
        },
    }))
}

fn is_equality(op: CompareOp) -> bool {
    matches!(op, CompareOp::Eq | CompareOp::Ne)
}

fn as_double(v: &Val<'_>) -> f64 {
    match v {
        Val::Long(n) => *n as f64,
        Val::Double(d) => *d,
        _ => f64::NAN,
    }
}

/// `l op r`.
pub(crate) fn arith<'a>(op: ArithOp, l: Val<'a>, r: Val<'a>) -> Result<Val<'a>, OpError> {
    let sym = op.symbol();
    let overflow = || OpError::Overflow(sym);
    let mismatch = |l: &Val<'_>, r: &Val<'_>| OpError::Types(sym, l.type_name(), r.type_name());
    Ok(match (op, &l, &r) {
        (_, Val::Null, _) | (_, _, Val::Null) => Val::Null,
        (_, Val::Long(a), Val::Long(b)) => Val::Long(long_arith(op, *a, *b).ok_or_else(|| {
            if *b == 0 && matches!(op, ArithOp::Div | ArithOp::Rem) {
                OpError::DivideByZero
            } else {
                overflow()
            }
        })?),
        (_, Val::Long(_) | Val::Double(_), Val::Long(_) | Val::Double(_)) => {
            let (a, b) = (as_double(&l), as_double(&r));
            Val::Double(match op {
                ArithOp::Add => a + b,
                ArithOp::Sub => a - b,
                ArithOp::Mul => a * b,
                ArithOp::Div => a / b,
                ArithOp::Rem => a % b,
            })
        }
        (ArithOp::Add, Val::Str(_), _) | (ArithOp::Add, _, Val::Str(_)) => {
            match (text_of(&l), text_of(&r)) {
                (Some(a), Some(b)) => Val::Str(Cow::Owned(format!("{a}{b}"))),
                _ => return Err(mismatch(&l, &r)),
            }
        }
        (ArithOp::Add, Val::DateTime(t), Val::TimeSpan(s))
        | (ArithOp::Add, Val::TimeSpan(s), Val::DateTime(t)) => {
            Val::DateTime(t.checked_add(*s).ok_or_else(overflow)?)
        }
        (ArithOp::Sub, Val::DateTime(t), Val::TimeSpan(s)) => {
            Val::DateTime(t.checked_sub(*s).ok_or_else(overflow)?)
        }
        (ArithOp::Sub, Val::DateTime(a), Val::DateTime(b)) => {
            Val::TimeSpan(a.checked_sub(*b).ok_or_else(overflow)?)
        }
        (ArithOp::Add, Val::TimeSpan(a), Val::TimeSpan(b)) => {
            Val::TimeSpan(a.checked_add(*b).ok_or_else(overflow)?)
        }
        (ArithOp::Sub, Val::TimeSpan(a), Val::TimeSpan(b)) => {
            Val::TimeSpan(a.checked_sub(*b).ok_or_else(overflow)?)
        }
        _ => return Err(mismatch(&l, &r)),
    })
}

fn long_arith(op: ArithOp, a: i64, b: i64) -> Option<i64> {
    match op {
        ArithOp::Add => a.checked_add(b),
        ArithOp::Sub => a.checked_sub(b),
        ArithOp::Mul => a.checked_mul(b),
        ArithOp::Div => a.checked_div(b),
        ArithOp::Rem => a.checked_rem(b),
    }
}

/// The text `string + v` appends for `v`, if it is a type that concatenates.
fn text_of<'b>(v: &'b Val<'_>) -> Option<Cow<'b, str>> {
    Some(match v {
        Val::Str(s) => Cow::Borrowed(s.as_ref()),
        Val::Long(n) => Cow::Owned(n.to_string()),
        Val::Double(d) => Cow::Owned(dotnet_double(*d)),
        Val::Bool(b) => Cow::Borrowed(dotnet_bool(*b)),
        _ => return None,
    })
}

/// Unary `-` (`negate`) or `+`.
pub(crate) fn unary(v: Val<'_>, negate: bool) -> Result<Val<'_>, OpError> {
    let sym = if negate { "-" } else { "+" };
    Ok(match v {
        Val::Null => Val::Null,
        Val::Long(n) if negate => Val::Long(n.checked_neg().ok_or(OpError::Overflow(sym))?),
        Val::Double(d) if negate => Val::Double(-d),
        Val::TimeSpan(t) if negate => Val::TimeSpan(t.checked_neg().ok_or(OpError::Overflow(sym))?),
        Val::Long(_) | Val::Double(_) | Val::TimeSpan(_) => v,
        other => return Err(OpError::Unary(sym, other.type_name())),
    })
}
