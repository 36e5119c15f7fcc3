//! Handler errors and extractor rejections.

use std::fmt;

/// The error a handler returns. Any `std::error::Error + Send + Sync + 'static` converts into
/// it with `?`; for a plain message use [`HandlerError::msg`]. Returning it abandons the message (the
/// broker redelivers it and, after the max delivery count, dead-letters it).
pub struct HandlerError {
    inner: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl HandlerError {
    /// An error with this message.
    pub fn msg(message: impl fmt::Display) -> Self {
        HandlerError {
            inner: message.to_string().into(),
        }
    }

    /// The underlying error.
    pub fn source_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.inner
    }
}

impl<E> From<E> for HandlerError
where
    E: std::error::Error + Send + Sync + 'static,
{
    fn from(error: E) -> Self {
        HandlerError {
            inner: Box::new(error),
        }
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.inner, f)?;
        let mut source = self.inner.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Why an extractor could not produce its argument. The message never reaches the handler:
/// it is dead-lettered with this reason and description, and the session goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The dead-letter reason, e.g. `DeserializationFailed`.
    pub reason: &'static str,
    /// What went wrong, e.g. the serde error with line and column.
    pub description: String,
}

impl Rejection {
    /// A rejection with this reason and description.
    pub fn new(reason: &'static str, description: impl Into<String>) -> Self {
        Rejection {
            reason,
            description: description.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason, self.description)
    }
}
