//! Collects every error found, so that the author sees them all at once.

use proc_macro2::TokenStream;

/// The errors found so far, combined into one `syn::Error`.
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records the error of a failed step, and returns its value otherwise.
    pub(crate) fn take<T>(&mut self, result: syn::Result<T>) -> Option<T> {
        result.map_err(|error| self.push(error)).ok()
    }

    /// `compile_error!`s for every recorded error, or `None` when there were none.
    pub(crate) fn into_compile_errors(self) -> Option<TokenStream> {
        self.combined.map(|error| error.to_compile_error())
    }
}
