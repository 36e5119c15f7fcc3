//! Rule actions: `SET property = value` and `REMOVE property`, one after another (a `;`
//! between them is optional), applied in order to the copy of a message a rule admitted, each
//! statement seeing what the ones before it did.
//!
//! Semantics (Azure documents the first three; the rest is chosen here):
//! - SET creates a user property or replaces its value; a missing user property on the right
//!   is unknown, and SET stores it as NULL.
//! - "SET performs implicit conversion if possible when the expression type and the existing
//!   property type are different": the only implicit conversion between our types is C#'s
//!   long → double, so a long assigned over an existing double property stays a double;
//!   anything else replaces the value with its own type.
//! - Only the system properties listed in [`super::system`] as settable may be SET or
//!   REMOVEd (refused when the action is created); a string property takes a string or NULL,
//!   `sys.TimeToLive` a non-negative timespan or NULL (a run-time error otherwise).
//! - User property names are resolved as filters resolve them (exact name, else any case),
//!   so `SET Color = 'x'` replaces an existing `color` under its existing name.
//! - A run-time error (a type error, overflow, division by zero) fails the whole action and
//!   leaves the message unchanged.

use super::ast::{Node, Prop};
use super::eval::{user_key, value};
use super::lexer::{Pos, Tok};
use super::parser::{require_value, Parser};
use super::system::SysProp;
use super::value::Val;
use super::{SqlError, MAX_ACTION_STATEMENTS};
use crate::filter::{MessageView, Value};

/// One statement.
#[derive(Debug, Clone)]
pub(crate) enum Statement {
    Set { target: Prop, pos: Pos, value: Node },
    Remove { target: Prop },
}

/// Parses the statements of an action (at least one).
pub(crate) fn parse(p: &mut Parser<'_>) -> Result<Vec<Statement>, SqlError> {
    let mut out = Vec::new();
    while *p.peek() != Tok::Eof {
        if out.len() >= MAX_ACTION_STATEMENTS {
            return Err(p.pos().error(format!(
                "an action has more than {MAX_ACTION_STATEMENTS} statements"
            )));
        }
        let set = if p.eat_keyword("SET") {
            true
        } else if p.eat_keyword("REMOVE") {
            false
        } else {
            return Err(p.unexpected("SET or REMOVE"));
        };
        let pos = p.pos();
        let target = p.property()?;
        if let Prop::Sys(s) = &target {
            if !s.settable() {
                return Err(pos.error(format!(
                    "system property 'sys.{}' cannot be changed by a rule action",
                    s.name()
                )));
            }
        }
        if set {
            let op = p.pos();
            p.expect_sym("=")?;
            let value = require_value(p.additive()?)?;
            out.push(Statement::Set {
                target,
                pos: op,
                value,
            });
        } else {
            out.push(Statement::Remove { target });
        }
        p.eat_sym(";");
    }
    if out.is_empty() {
        return Err(p.pos().error("the action has no statement (expected SET or REMOVE)"));
    }
    Ok(out)
}

/// Applies `statements` to `m`, all or nothing.
pub(crate) fn apply(statements: &[Statement], m: &mut MessageView) -> Result<(), SqlError> {
    let mut copy = m.clone();
    for statement in statements {
        match statement {
            Statement::Set { target, pos, value: expr } => {
                let new = value(expr, &copy)
                    .map_err(|e| e.into_sql_error())?
                    .into_value()
                    .map_err(|r| pos.error(r))?;
                set(&mut copy, target, new).map_err(|r| pos.error(r))?;
            }
            Statement::Remove { target } => remove(&mut copy, target),
        }
    }
    *m = copy;
    Ok(())
}

fn set(m: &mut MessageView, target: &Prop, new: Value) -> Result<(), String> {
    match target {
        Prop::User(name) => {
            let key = user_key(m, name).unwrap_or(name).to_owned();
            let new = match (m.user.get(&key), new) {
                (Some(Value::Double(_)), Value::Long(n)) => Value::Double(n as f64),
                (_, new) => new,
            };
            m.user.insert(key, new);
            Ok(())
        }
        Prop::Sys(p) => {
            let name = p.name();
            if let Some(field) = p.string_field_mut(m) {
                *field = match new {
                    Value::String(s) => Some(s),
                    Value::Null => None,
                    other => return Err(cannot_store(name, "a string", &other)),
                };
                return Ok(());
            }
            if *p != SysProp::TimeToLive {
                return Err(format!("sys.{name} cannot be changed by a rule action"));
            }
            m.time_to_live = match new {
                Value::Duration(d) => Some(d),
                Value::Null => None,
                other => return Err(cannot_store(name, "a timespan", &other)),
            };
            Ok(())
        }
    }
}

fn cannot_store(name: &str, wanted: &str, got: &Value) -> String {
    format!(
        "sys.{name} takes {wanted}, not a value of type {}",
        Val::of(got).type_name()
    )
}

fn remove(m: &mut MessageView, target: &Prop) {
    match target {
        Prop::User(name) => {
            if let Some(key) = user_key(m, name).map(str::to_owned) {
                m.user.remove(&key);
            }
        }
        Prop::Sys(p) => match p.string_field_mut(m) {
            Some(field) => *field = None,
            None if *p == SysProp::TimeToLive => m.time_to_live = None,
            None => {}
        },
    }
}
