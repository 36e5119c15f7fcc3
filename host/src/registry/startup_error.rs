//! Why the host refuses to start; all of them are reported at once.

use std::fmt;

/// One reason the registered functions and the configuration cannot run together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartupError {
    /// What is wrong.
    pub message: String,
    /// Where: source locations and config files involved.
    pub locations: Vec<String>,
    /// How to fix it.
    pub hint: Option<String>,
}

impl StartupError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        StartupError {
            message: message.into(),
            locations: Vec::new(),
            hint: None,
        }
    }

    pub(crate) fn at(mut self, location: impl fmt::Display) -> Self {
        self.locations.push(location.to_string());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.message)?;
        for location in &self.locations {
            write!(f, "\n  --> {location}")?;
        }
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}
