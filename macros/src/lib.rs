//! The attributes of Berth: `#[service_bus_trigger]`, `#[session_opened]` and
//! `#[session_closing]`. Use them through `berth`, not directly.
//!
//! The trigger attribute is parsed (`args`), checked together with the function's signature
//! (`validate`, `signature`), and expanded into a compile-time registration (`expand`); the
//! hook attributes take the same path in `hook`.
//! On any error the function is still emitted unchanged, next to every error found, so that
//! editors keep understanding the rest of the code.

use proc_macro::TokenStream;
use quote::quote;

mod args;
mod errors;
mod expand;
mod hook;
mod signature;
mod validate;

use errors::Errors;

/// (This is `berth::service_bus_trigger`; the keys and their examples are above, in
/// `berth`'s documentation of it.)
#[proc_macro_attribute]
pub fn service_bus_trigger(args: TokenStream, item: TokenStream) -> TokenStream {
    service_bus_trigger_impl(args.into(), item.into()).into()
}

fn service_bus_trigger_impl(
    args: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let mut errors = Errors::default();
    let args = args::parse(args, &mut errors);
    let function = errors.take(signature::parse(item.clone(), &signature::FUNCTION));
    let signature_ok = function
        .as_ref()
        .is_some_and(|f| f.check(&signature::FUNCTION, &mut errors));
    let trigger = match (args, &function) {
        (Some(args), Some(function)) => validate::validate(args, &function.sig.ident, &mut errors),
        _ => None,
    };
    let registration = match (&function, &trigger) {
        (Some(function), Some(trigger)) if signature_ok => expand::expand(function, trigger),
        _ => proc_macro2::TokenStream::new(),
    };
    let errors = errors.into_compile_errors();
    quote!(#item #registration #errors)
}

/// Registers an `async fn` called when the host opens a session of the session function
/// named by `function` (after accepting the session, before its first message), as .NET's
/// `SessionInitializingAsync`.
///
/// `#[session_opened(function = "process_session_message")]` on an
/// `async fn(session: SessionContext) -> Result<(), HandlerError>` (it may also take a
/// `CancellationToken`, and return `()`). If it fails, the session is released unprocessed
/// and accepted again later.
#[proc_macro_attribute]
pub fn session_opened(args: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::HookKind::Opened, args.into(), item.into()).into()
}

/// Registers an `async fn` called when the host is about to release a session of the session
/// function named by `function` (not when the session lock was lost), as .NET's
/// `SessionClosingAsync`. Same shape as [`macro@session_opened`]; a failure is logged and the
/// session is released anyway.
#[proc_macro_attribute]
pub fn session_closing(args: TokenStream, item: TokenStream) -> TokenStream {
    hook::expand(hook::HookKind::Closing, args.into(), item.into()).into()
}
