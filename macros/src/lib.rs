//! The `#[service_bus_trigger]` attribute of Berth. Use it through `berth`, not directly.
//!
//! The attribute is parsed (`args`), checked together with the function's signature
//! (`validate`, `signature`), and expanded into a compile-time registration (`expand`).
//! On any error the function is still emitted unchanged, next to every error found, so that
//! editors keep understanding the rest of the code.

use proc_macro::TokenStream;
use quote::quote;

mod args;
mod errors;
mod expand;
mod signature;
mod validate;

use errors::Errors;
use signature::TriggerFn;

/// Registers an `async fn` as a function triggered by Service Bus messages.
///
/// Keys: `queue = "..."`, or `topic = "..."` with `subscription = "..."`;
/// `connection = "..."` (the app setting holding the connection string, by default
/// `"ServiceBusConnection"`); `sessions = true|false` (default `false`);
/// `auto_complete = true|false` (default: the host's); `name = "..."` (default: the fn's
/// name). Strings may contain `%AppSetting%` binding expressions, resolved by the host.
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
    let function = errors.take(syn::parse2::<TriggerFn>(item.clone()));
    let signature_ok = function.as_ref().is_some_and(|f| f.check(&mut errors));
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
