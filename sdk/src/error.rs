//! Handler errors and extractor rejections.
//!
//! [`HandlerError`] converts with `?` from anything that converts into
//! `Box<dyn Error + Send + Sync>`: any std error, `anyhow::Error`, a `Box<dyn Error + Send +
//! Sync>`, a `String` or a `&str`. One blanket `From` covers them all, so `berth` needs no
//! dependency on `anyhow` to accept it (`anyhow::Error` converts into that box, keeping its
//! chain of causes).

use std::error::Error as StdError;
use std::fmt;

/// A boxed error, as `HandlerError` keeps it.
type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// The error a handler returns.
///
/// By default an error is worth retrying: the message is abandoned (or retried inside the
/// session lock when the trigger has a `retry` policy), the broker redelivers it and, after
/// the max delivery count, dead-letters it. An error made with [`HandlerError::dead_letter`],
/// or marked with [`DeadLetterOnErr::dead_letter_on_err`], is not: the message is
/// dead-lettered at once with that reason, without retrying.
///
/// `?` converts into it from any std error, `anyhow::Error`, `Box<dyn Error + Send + Sync>`,
/// `String` and `&str`; its `Display` shows the whole chain of causes (`outer: inner: root`),
/// and that is what the host logs.
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Order { id: String, quantity: i64 }
///
/// #[service_bus_trigger(queue = "orders")]
/// async fn place(Json(order): Json<Order>, body: String) -> Result<(), HandlerError> {
///     if order.quantity <= 0 {
///         // Retrying cannot fix this order: dead-letter it now.
///         return Err(HandlerError::dead_letter(
///             "InvalidQuantity",
///             format!("order {} has quantity {}", order.id, order.quantity),
///         ));
///     }
///     let _: serde_json::Value = serde_json::from_str(&body)?; // any std error
///     let _port: u16 = "8080".parse().map_err(|e| format!("bad port: {e}"))?; // a String
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let bad = place(Json(Order { id: "o-1".into(), quantity: 0 }), String::new()).await;
/// let error = bad.unwrap_err();
/// assert_eq!(error.dead_letter_reason(), Some("InvalidQuantity"));
/// assert_eq!(error.to_string(), "order o-1 has quantity 0");
/// # }
/// ```
pub struct HandlerError {
    inner: BoxError,
    dead_letter_reason: Option<String>,
}

impl HandlerError {
    /// An error with this message (retried like any other error).
    pub fn msg(message: impl fmt::Display) -> Self {
        HandlerError {
            inner: message.to_string().into(),
            dead_letter_reason: None,
        }
    }

    /// An error not worth retrying: the message is dead-lettered at once with this reason
    /// (`DeadLetterReason`) and description (`DeadLetterErrorDescription`), whatever the
    /// trigger's retry policy.
    pub fn dead_letter(reason: impl Into<String>, description: impl fmt::Display) -> Self {
        HandlerError::msg(description).with_dead_letter_reason(reason)
    }

    /// Marks this error as not worth retrying: the message is dead-lettered at once with
    /// `reason`; the description is the error's text with its causes.
    pub fn with_dead_letter_reason(mut self, reason: impl Into<String>) -> Self {
        self.dead_letter_reason = Some(reason.into());
        self
    }

    /// The dead-letter reason, when the error is not worth retrying (`None`: retry it).
    pub fn dead_letter_reason(&self) -> Option<&str> {
        self.dead_letter_reason.as_deref()
    }

    /// The underlying error; its [`source`](StdError::source) chain is the causes.
    pub fn source_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
        &*self.inner
    }

    /// Takes the underlying error out, e.g. to `downcast` it.
    pub fn into_inner(self) -> Box<dyn StdError + Send + Sync + 'static> {
        self.inner
    }
}

/// `?` on any std error, `anyhow::Error`, `Box<dyn Error + Send + Sync>`, `String` or `&str`.
impl<E> From<E> for HandlerError
where
    E: Into<BoxError>,
{
    fn from(error: E) -> Self {
        HandlerError {
            inner: error.into(),
            dead_letter_reason: None,
        }
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("HandlerError");
        debug.field("error", &self.inner);
        if let Some(reason) = &self.dead_letter_reason {
            debug.field("dead_letter_reason", reason);
        }
        debug.finish()
    }
}

/// The error and its causes, `outer: inner: root` (a cause whose text the outer error
/// already ends with is not repeated).
impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.inner.to_string();
        f.write_str(&shown)?;
        let mut source = self.inner.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            if !shown.ends_with(&text) {
                write!(f, ": {text}")?;
                shown = text;
            }
            source = cause.source();
        }
        Ok(())
    }
}

/// Marks the error of a `Result` as not worth retrying, in one call before `?`.
///
/// ```
/// use berth::prelude::*;
///
/// #[derive(serde::Deserialize)]
/// struct Reading { sensor: String, celsius: String }
///
/// #[service_bus_trigger(queue = "readings")]
/// async fn record(Json(reading): Json<Reading>) -> Result<(), HandlerError> {
///     // A reading that does not parse never will: dead-letter it now, with the parse
///     // error as the description.
///     let celsius: f64 = reading.celsius.parse().dead_letter_on_err("InvalidReading")?;
///     let _ = (reading.sensor, celsius);
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let reading = Reading { sensor: "s1".into(), celsius: "warm".into() };
/// let error = record(Json(reading)).await.unwrap_err();
/// assert_eq!(error.dead_letter_reason(), Some("InvalidReading"));
/// assert_eq!(error.to_string(), "invalid float literal");
/// # }
/// ```
pub trait DeadLetterOnErr<T> {
    /// On `Err`, a [`HandlerError`] that dead-letters the message at once with `reason`; the
    /// description is the error's text with its causes.
    fn dead_letter_on_err(self, reason: &str) -> Result<T, HandlerError>;
}

impl<T, E: Into<HandlerError>> DeadLetterOnErr<T> for Result<T, E> {
    fn dead_letter_on_err(self, reason: &str) -> Result<T, HandlerError> {
        self.map_err(|error| error.into().with_dead_letter_reason(reason))
    }
}

/// Why an extractor could not produce its argument. Unless the handler takes the argument as
/// `Option<E>` or `Result<E, Rejection>`, the message never reaches the handler: it is
/// dead-lettered with this reason and description, and the session goes on.
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

/// A rejection returned from a handler dead-letters the message with its reason at once:
/// `Result<Json<T>, Rejection>` can be handed on with `?`.
impl From<Rejection> for HandlerError {
    fn from(rejection: Rejection) -> Self {
        HandlerError::dead_letter(rejection.reason, rejection.description)
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
