//! The Service Bus SQL filter and rule-action language.
//!
//! CONTRACT (placeholder until the SQL helper's branch lands): the types and signatures
//! below are fixed; the bodies are not implemented yet.

use std::fmt;

use super::{MessageView, Value};

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
}

impl SqlFilter {
    /// Parses `expression` with the given `@name` parameters.
    pub fn new(expression: &str, parameters: &[(String, Value)]) -> Result<Self, SqlError> {
        let _ = (expression, parameters);
        Err(SqlError {
            line: 1,
            column: 1,
            reason: "SQL filters are not implemented yet".into(),
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Whether the message matches. An expression that cannot be evaluated for this message
    /// (a type error, a missing property compared with `=`) does not match.
    pub fn matches(&self, message: &MessageView) -> bool {
        let _ = message;
        false
    }
}

/// A parsed SQL rule action (`SET priority = 'high'; REMOVE tmp`).
#[derive(Debug, Clone)]
pub struct SqlAction {
    expression: String,
}

impl SqlAction {
    /// Parses `expression` with the given `@name` parameters.
    pub fn new(expression: &str, parameters: &[(String, Value)]) -> Result<Self, SqlError> {
        let _ = (expression, parameters);
        Err(SqlError {
            line: 1,
            column: 1,
            reason: "SQL actions are not implemented yet".into(),
        })
    }

    /// The expression as written.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Applies the action to the copy of a message a rule admitted.
    pub fn apply(&self, message: &mut MessageView) -> Result<(), SqlError> {
        let _ = message;
        Ok(())
    }
}
