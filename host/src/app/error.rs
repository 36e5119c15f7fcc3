//! Why a host could not start.

use std::fmt;

/// Why a host could not start: every problem found, each one line for a terminal. Nothing
/// was left running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartError {
    problems: Vec<String>,
}

impl StartError {
    /// One problem.
    pub fn new(problem: impl Into<String>) -> Self {
        StartError {
            problems: vec![problem.into()],
        }
    }

    /// Several problems (at least one).
    pub(crate) fn all(problems: Vec<String>) -> Self {
        StartError { problems }
    }

    /// Each problem, as a line.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.problems.join("\n"))
    }
}

impl std::error::Error for StartError {}
