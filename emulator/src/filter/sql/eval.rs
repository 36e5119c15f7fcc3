//! Evaluates a parsed tree against one message: conditions to SQL's three values
//! (`Some(true)`, `Some(false)`, `None` for unknown), values to [`Val`]s that borrow from the
//! message and the tree. Reading and comparing allocates nothing; only string concatenation,
//! a LIKE whose pattern is not a constant and `property(name)` do.
//!
//! AND and OR follow Azure's documented tables (SQL's): `F AND x = F`, `T OR x = T`,
//! otherwise unknown wins over the remaining value. `NOT unknown` is unknown. A missing user
//! property is unknown; `IS NULL` is true for a missing property and for a null one.
//! `x IN (a, b)` is `x = a OR x = b` (so an unknown `x` gives unknown, and `NOT IN` a list
//! holding NULL is never true, as in SQL-92). A run-time error (see [`super::ops`]) stops the
//! evaluation.

use std::borrow::Cow;

use super::ast::{Expr, LikeRhs, Node, Prop};
use super::lexer::Pos;
use super::like::LikePattern;
use super::ops::{self, OpError};
use super::system::SysProp;
use super::value::Val;
use super::SqlError;
use crate::entity::LockToken;
use crate::filter::{MessageView, Value};

/// A run-time error and the operator it happened at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EvalError {
    pub pos: Pos,
    pub kind: EvalErrorKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EvalErrorKind {
    Op(OpError),
    /// A condition was needed and the value is not a boolean.
    NotBoolean(&'static str),
    Like(String),
}

impl EvalError {
    /// As the public error.
    pub fn into_sql_error(self) -> SqlError {
        let reason = match self.kind {
            EvalErrorKind::Op(e) => e.reason(),
            EvalErrorKind::NotBoolean(t) => format!("expected a boolean, found a {t}"),
            EvalErrorKind::Like(r) => r,
        };
        self.pos.error(reason)
    }
}

type Evaluated<T> = Result<T, EvalError>;

fn at(pos: Pos) -> impl Fn(OpError) -> EvalError {
    move |e| EvalError {
        pos,
        kind: EvalErrorKind::Op(e),
    }
}

/// The truth of a condition.
pub(crate) fn truth(node: &Node, m: &MessageView) -> Evaluated<Option<bool>> {
    match &node.expr {
        Expr::And(list) => connective(list, false, m),
        Expr::Or(list) => connective(list, true, m),
        Expr::Not(inner) => Ok(truth(inner, m)?.map(|b| !b)),
        Expr::Compare(op, l, r) => {
            let (l, r) = (value(l, m)?, value(r, m)?);
            ops::compare(*op, &l, &r).map_err(at(node.pos))
        }
        Expr::IsNull { operand, negated } => {
            let is_null = matches!(value(operand, m)?, Val::Null);
            Ok(Some(is_null != *negated))
        }
        Expr::In {
            operand,
            list,
            negated,
        } => {
            let found = is_in(node.pos, &value(operand, m)?, list, m)?;
            Ok(found.map(|b| b != *negated))
        }
        Expr::Like {
            operand,
            pattern,
            negated,
        } => Ok(like(node.pos, operand, pattern, m)?.map(|b| b != *negated)),
        Expr::Exists(prop) => Ok(Some(match prop {
            Prop::Sys(p) => p.exists(m),
            Prop::User(name) => user(m, name).is_some(),
        })),
        // A value where a condition is needed (the parser refuses these; kept total).
        _ => match value(node, m)? {
            Val::Bool(b) => Ok(Some(b)),
            Val::Null => Ok(None),
            other => Err(EvalError {
                pos: node.pos,
                kind: EvalErrorKind::NotBoolean(other.type_name()),
            }),
        },
    }
}

/// AND (`decisive` false) or OR (`decisive` true): the first operand equal to `decisive`
/// decides; otherwise unknown if any operand was unknown.
fn connective(list: &[Node], decisive: bool, m: &MessageView) -> Evaluated<Option<bool>> {
    let mut unknown = false;
    for item in list {
        match truth(item, m)? {
            Some(b) if b == decisive => return Ok(Some(decisive)),
            None => unknown = true,
            Some(_) => {}
        }
    }
    Ok(if unknown { None } else { Some(!decisive) })
}

fn is_in(pos: Pos, x: &Val<'_>, list: &[Node], m: &MessageView) -> Evaluated<Option<bool>> {
    if matches!(x, Val::Null) {
        return Ok(None);
    }
    let mut unknown = false;
    for item in list {
        match ops::compare(super::ast::CompareOp::Eq, x, &value(item, m)?).map_err(at(pos))? {
            Some(true) => return Ok(Some(true)),
            None => unknown = true,
            Some(false) => {}
        }
    }
    Ok(if unknown { None } else { Some(false) })
}

fn like(pos: Pos, operand: &Node, rhs: &LikeRhs, m: &MessageView) -> Evaluated<Option<bool>> {
    let text = match value(operand, m)? {
        Val::Null => return Ok(None),
        Val::Str(s) => s,
        other => return Err(type_error(pos, "LIKE", &other, &Val::Str(Cow::Borrowed("")))),
    };
    match rhs {
        LikeRhs::Compiled(p) => Ok(Some(p.matches(&text))),
        LikeRhs::Dynamic { pattern, escape } => {
            let pattern = match value(pattern, m)? {
                Val::Null => return Ok(None),
                Val::Str(s) => s,
                other => return Err(type_error(pos, "LIKE", &Val::Str(text), &other)),
            };
            let escape = match escape.as_deref().map(|e| value(e, m)).transpose()? {
                None => None,
                Some(Val::Null) => return Ok(None),
                Some(Val::Str(s)) if s.chars().count() == 1 => s.chars().next(),
                Some(_) => {
                    return Err(EvalError {
                        pos,
                        kind: EvalErrorKind::Like(
                            "the ESCAPE character must be a string of length 1".into(),
                        ),
                    })
                }
            };
            let compiled = LikePattern::compile(&pattern, escape).map_err(|r| EvalError {
                pos,
                kind: EvalErrorKind::Like(r),
            })?;
            Ok(Some(compiled.matches(&text)))
        }
    }
}

fn type_error(pos: Pos, op: &'static str, l: &Val<'_>, r: &Val<'_>) -> EvalError {
    at(pos)(OpError::Types(op, l.type_name(), r.type_name()))
}

/// The value of a value node.
pub(crate) fn value<'a>(node: &'a Node, m: &'a MessageView) -> Evaluated<Val<'a>> {
    match &node.expr {
        Expr::Const(v) => Ok(Val::of(v)),
        Expr::Prop(Prop::Sys(p)) => Ok(p.read(m)),
        Expr::Prop(Prop::User(name)) => Ok(user(m, name).map_or(Val::Null, Val::of)),
        Expr::NewId => Ok(Val::Uuid(*LockToken::random().as_bytes())),
        Expr::PropertyOf(arg) => match value(arg, m)? {
            Val::Null => Ok(Val::Null),
            Val::Str(name) => Ok(property_named(m, &name)),
            other => Err(EvalError {
                pos: arg.pos,
                kind: EvalErrorKind::Op(OpError::Unary("property()", other.type_name())),
            }),
        },
        Expr::Negate(inner, negate) => ops::unary(value(inner, m)?, *negate).map_err(at(node.pos)),
        Expr::Arith(op, l, r) => ops::arith(*op, value(l, m)?, value(r, m)?).map_err(at(node.pos)),
        // A condition used as a value (the parser refuses these; kept total).
        _ => Ok(truth(node, m)?.map_or(Val::Null, Val::Bool)),
    }
}

/// `property(name)`: `sys.X` and `user.X` as in an expression, any other name a user
/// property. Owned, since the name is computed; an unknown system property reads NULL.
fn property_named<'a>(m: &'a MessageView, name: &str) -> Val<'a> {
    if let Some((scope, rest)) = name.split_once('.') {
        if scope.eq_ignore_ascii_case("sys") {
            return SysProp::lookup(rest).map_or(Val::Null, |p| p.read(m));
        }
        if scope.eq_ignore_ascii_case("user") {
            return user(m, rest).map_or(Val::Null, Val::of);
        }
    }
    user(m, name).map_or(Val::Null, Val::of)
}

/// The application property `name`: the one of exactly that name, else the first whose
/// name equals it ignoring case (Azure documents property names as case-insensitive).
pub(crate) fn user<'a>(m: &'a MessageView, name: &str) -> Option<&'a Value> {
    match m.user.get(name) {
        Some(v) => Some(v),
        None => m.user.iter().find(|(k, _)| eq_ignore_case(k, name)).map(|(_, v)| v),
    }
}

/// The key [`user`] resolves `name` to.
pub(crate) fn user_key<'a>(m: &'a MessageView, name: &str) -> Option<&'a str> {
    if let Some((k, _)) = m.user.get_key_value(name) {
        return Some(k);
    }
    m.user
        .keys()
        .find(|k| eq_ignore_case(k, name))
        .map(String::as_str)
}

/// Case-insensitive equality: ASCII folding when both are ASCII (the usual case, no
/// per-character work beyond a byte compare), Unicode lower-casing otherwise.
fn eq_ignore_case(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() {
        return a.len() == b.len() && a.eq_ignore_ascii_case(b);
    }
    a.chars()
        .flat_map(char::to_lowercase)
        .eq(b.chars().flat_map(char::to_lowercase))
}
