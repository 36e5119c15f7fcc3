//! The Service Bus SQL filter and rule-action language: parsed once when a rule is created,
//! evaluated for every message sent to the topic.
//!
//! The grammar is Azure's ("Subscription Rule SQL Filter Syntax" and "… SQL Action Syntax"):
//!
//! ```text
//! filter     := condition
//! condition  := NOT condition | condition AND condition | condition OR condition
//!             | value {= | <> | != | > | >= | < | <=} value
//!             | value IS [NOT] NULL
//!             | value [NOT] IN (value [, value]…)
//!             | value [NOT] LIKE value [ESCAPE value]
//!             | EXISTS (property) | (condition)
//! value      := constant | @parameter | property | newid() | property(value) | p(value)
//!             | value {+ | - | * | / | %} value | {+ | -} value | (value)
//! property   := [sys. | user.] name          name := letter {letter | digit | _} | [any ]] text] | "any "" text"
//! constant   := 'text' ('' for ') | integer (long) | decimal or 1.5E5 (double) | TRUE | FALSE | NULL
//! action     := {SET property = value | REMOVE property} [;] …
//! ```
//!
//! Keywords and function names are case-insensitive; property names too (system properties
//! by name, application properties exact name first, see `eval.rs`). Where each piece of the
//! semantics is chosen: types and operators in `ops.rs`, conditions and unknown in `eval.rs`,
//! LIKE in `like.rs`, system properties in `system.rs`, actions in `action.rs`.
//!
//! Limits, so that no input can hurt the broker: an expression is at most
//! [`MAX_EXPRESSION_CHARS`] characters (Azure's documented limit for both filters and
//! actions), an action at most [`MAX_ACTION_STATEMENTS`] statements (Azure's "expressions per
//! rule action"), nesting at most [`MAX_DEPTH`] levels and an IN list at most
//! [`MAX_IN_LIST`] values (ours: Azure documents none; the length limit binds first for any
//! list of short constants).

mod action;
mod ast;
mod eval;
mod lexer;
mod like;
mod ops;
mod parser;
mod system;
mod value;

#[cfg(test)]
mod tests;

use std::fmt;

use super::{MessageView, Value};

/// The longest filter or action, in characters (Azure: 1,024 for both).
pub const MAX_EXPRESSION_CHARS: usize = 1024;
/// The most statements in one action (Azure: 32 expressions per rule action).
pub const MAX_ACTION_STATEMENTS: usize = 32;
/// The deepest nesting of parentheses, NOT, unary signs and operators.
pub const MAX_DEPTH: u32 = 64;
/// The most values in one IN list.
pub const MAX_IN_LIST: usize = 512;

/// A refused SQL expression: where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError {
    /// 1-based line of the offending token.
    pub line: u32,
    /// 1-based column of the offending token.
    pub column: u32,
    /// What is wrong there.
    pub reason: String,
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at line {}, column {}.", self.reason, self.line, self.column)
    }
}

impl std::error::Error for SqlError {}

/// A parsed SQL filter (`color = 'red' AND sys.Label LIKE 'order%'`).
#[derive(Debug, Clone)]
pub struct SqlFilter {
    expression: String,
    root: ast::Node,
}

impl SqlFilter {
    /// Parses `expression` with the given `@name` parameters.
    pub fn new(expression: &str, parameters: &[(String, Value)]) -> Result<Self, SqlError> {
        let tokens = tokenize_bounded(expression)?;
        let root = parser::Parser::new(tokens, parameters).filter()?;
        Ok(SqlFilter {
            expression: expression.to_owned(),
            root,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Whether the message matches. An expression that cannot be evaluated for this message
    /// (a type error, a missing property compared with `=`) does not match.
    pub fn matches(&self, message: &MessageView) -> bool {
        matches!(eval::truth(&self.root, message), Ok(Some(true)))
    }

    /// The three-valued result for `message` (`None`: unknown), or the run-time error that
    /// stopped the evaluation (with the operator's position), for diagnostics and tests.
    pub fn evaluate(&self, message: &MessageView) -> Result<Option<bool>, SqlError> {
        eval::truth(&self.root, message).map_err(eval::EvalError::into_sql_error)
    }
}

/// A parsed SQL rule action (`SET priority = 'high'; REMOVE tmp`).
#[derive(Debug, Clone)]
pub struct SqlAction {
    expression: String,
    statements: Vec<action::Statement>,
}

impl SqlAction {
    /// Parses `expression` with the given `@name` parameters.
    pub fn new(expression: &str, parameters: &[(String, Value)]) -> Result<Self, SqlError> {
        let tokens = tokenize_bounded(expression)?;
        let statements = action::parse(&mut parser::Parser::new(tokens, parameters))?;
        Ok(SqlAction {
            expression: expression.to_owned(),
            statements,
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Applies the action to the copy of a message a rule admitted: all statements, or (on a
    /// run-time error, which names the statement's position) none.
    pub fn apply(&self, message: &mut MessageView) -> Result<(), SqlError> {
        action::apply(&self.statements, message)
    }
}

/// The tokens of `text`, refused beyond [`MAX_EXPRESSION_CHARS`] (at the first character
/// past the limit) and when empty.
fn tokenize_bounded(text: &str) -> Result<Vec<(lexer::Tok, lexer::Pos)>, SqlError> {
    if let Some((index, _)) = text.char_indices().nth(MAX_EXPRESSION_CHARS) {
        let pos = lexer::position_of(text, index);
        return Err(pos.error(format!(
            "the expression is longer than {MAX_EXPRESSION_CHARS} characters"
        )));
    }
    let tokens = lexer::tokenize(text)?;
    if tokens.len() <= 1 {
        let pos = lexer::Pos { line: 1, column: 1 };
        return Err(pos.error("the expression is empty"));
    }
    Ok(tokens)
}
