//! `?` into `HandlerError` from every error shape, the chain in its text, and errors that
//! dead-letter at once.

use std::error::Error as StdError;
use std::fmt;

use super::*;

#[derive(Debug)]
struct Outer(std::io::Error);

impl fmt::Display for Outer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loading the price list failed")
    }
}

impl StdError for Outer {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(&self.0)
    }
}

fn io_error() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "prices.csv not found")
}

#[test]
fn a_std_error_converts_with_its_chain() {
    fn run() -> Result<(), HandlerError> {
        Err(Outer(io_error()))?
    }
    let error = run().unwrap_err();
    assert_eq!(
        error.to_string(),
        "loading the price list failed: prices.csv not found"
    );
    assert_eq!(error.dead_letter_reason(), None);
    assert!(error.source_error().source().is_some());
}

#[test]
fn anyhow_errors_convert_with_their_context_chain() {
    fn run() -> Result<(), HandlerError> {
        let result: anyhow::Result<()> = Err(anyhow::Error::new(io_error()));
        anyhow::Context::context(result, "loading the price list")?;
        Ok(())
    }
    let error = run().unwrap_err();
    assert_eq!(
        error.to_string(),
        "loading the price list: prices.csv not found"
    );
}

#[test]
fn boxed_errors_strings_and_str_convert() {
    fn boxed() -> Result<(), HandlerError> {
        let error: Box<dyn StdError + Send + Sync> = Box::new(io_error());
        Err(error)?
    }
    fn string() -> Result<(), HandlerError> {
        Err(format!("order {} is unknown", 7))?
    }
    fn str() -> Result<(), HandlerError> {
        Err("no price")?
    }
    assert_eq!(boxed().unwrap_err().to_string(), "prices.csv not found");
    assert_eq!(string().unwrap_err().to_string(), "order 7 is unknown");
    assert_eq!(str().unwrap_err().to_string(), "no price");
}

#[test]
fn a_cause_already_in_the_outer_text_is_not_repeated() {
    #[derive(Debug)]
    struct Wraps(std::io::Error);
    impl fmt::Display for Wraps {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "reading failed: {}", self.0)
        }
    }
    impl StdError for Wraps {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&self.0)
        }
    }
    let error = HandlerError::from(Wraps(io_error()));
    assert_eq!(error.to_string(), "reading failed: prices.csv not found");
}

#[test]
fn dead_letter_errors_carry_their_reason_and_description() {
    let error = HandlerError::dead_letter("InvalidOrder", "order 7 has no lines");
    assert_eq!(error.dead_letter_reason(), Some("InvalidOrder"));
    assert_eq!(error.to_string(), "order 7 has no lines");
}

#[test]
fn dead_letter_on_err_marks_only_errors_and_keeps_the_chain() {
    let ok: Result<u8, Outer> = Ok(1);
    assert_eq!(ok.dead_letter_on_err("PriceListMissing").unwrap(), 1);
    let failed: Result<u8, Outer> = Err(Outer(io_error()));
    let error = failed.dead_letter_on_err("PriceListMissing").unwrap_err();
    assert_eq!(error.dead_letter_reason(), Some("PriceListMissing"));
    assert_eq!(
        error.to_string(),
        "loading the price list failed: prices.csv not found"
    );
    let from_anyhow: anyhow::Result<()> = Err(anyhow::anyhow!("no such customer"));
    let error = from_anyhow
        .dead_letter_on_err("UnknownCustomer")
        .unwrap_err();
    assert_eq!(error.dead_letter_reason(), Some("UnknownCustomer"));
}

#[test]
fn a_rejection_handed_on_with_question_mark_dead_letters_with_its_reason() {
    fn run() -> Result<(), HandlerError> {
        Err(Rejection::new(
            "DeserializationFailed",
            "expected `,` at line 1",
        ))?
    }
    let error = run().unwrap_err();
    assert_eq!(error.dead_letter_reason(), Some("DeserializationFailed"));
    assert_eq!(error.to_string(), "expected `,` at line 1");
}
