//! Generates the registration of a checked function. The function itself is re-emitted
//! unchanged by the caller; everything generated here lives in an anonymous `const` and
//! names the SDK through absolute `::berth::__private` paths.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, LitStr, ReturnType};

use crate::signature::AnnotatedFn;
use crate::validate::{Entity, Trigger};

/// The registration of `function` with `trigger`'s attributes.
pub(crate) fn expand(function: &AnnotatedFn, trigger: &Trigger) -> TokenStream {
    let ident = &function.sig.ident;
    let type_checks = type_checks(
        function,
        &format_ident!("assert_extractor"),
        &format_ident!("assert_output"),
    );
    // Naming the argument types (rather than letting them be inferred) makes rustc explain
    // a failed `Handler` bound precisely, e.g. which value keeps the future from being `Send`.
    let argument_types = function.argument_types();
    let boxed = quote_spanned! {ident.span()=>
        ::berth::__private::handler::<_, (#(#argument_types,)*)>(#ident)
    };
    let attributes = attributes(trigger);
    let name = &trigger.name;
    let fn_name = LitStr::new(&ident.to_string(), ident.span());
    let (line, column) = position(ident);
    quote! {
        const _: () = {
            const _: () = { #type_checks };

            fn __berth_boxed_handler() -> ::berth::__private::BoxedHandler {
                #boxed
            }

            ::berth::__private::inventory::submit! {
                ::berth::__private::FunctionRegistration {
                    name: #name,
                    rust_path: ::core::concat!(::core::module_path!(), "::", #fn_name),
                    trigger: #attributes,
                    handler: __berth_boxed_handler,
                    location: ::berth::__private::SourceLocation {
                        file: ::core::file!(),
                        line: #line,
                        column: #column,
                    },
                }
            }
        };
    }
}

/// `line!()` and `column!()` of the fn's name: spanned there, they give the name's position,
/// not the attribute's.
pub(crate) fn position(ident: &Ident) -> (TokenStream, TokenStream) {
    (
        quote_spanned!(ident.span()=> ::core::line!()),
        quote_spanned!(ident.span()=> ::core::column!()),
    )
}

/// One assertion per argument (`::berth::__private::<argument>::<T>()`) and one for the
/// return type (`<output>`), each spanned at the author's type, so that a type that does not
/// fit is reported on that type with the SDK's `on_unimplemented` message.
pub(crate) fn type_checks(function: &AnnotatedFn, argument: &Ident, output: &Ident) -> TokenStream {
    let mut checks: TokenStream = function
        .argument_types()
        .map(|ty| quote_spanned!(ty.span()=> ::berth::__private::#argument::<#ty>();))
        .collect();
    checks.extend(match &function.sig.output {
        ReturnType::Type(_, ty) => {
            quote_spanned!(ty.span()=> ::berth::__private::#output::<#ty>();)
        }
        ReturnType::Default => quote!(::berth::__private::#output::<()>();),
    });
    checks
}

/// The `TriggerAttributes` literal.
fn attributes(trigger: &Trigger) -> TokenStream {
    let (queue, topic, subscription) = match &trigger.entity {
        Entity::Queue(queue) => (Some(queue), None, None),
        Entity::Subscription {
            topic,
            subscription,
        } => (None, Some(topic), Some(subscription)),
    };
    let queue = option(queue);
    let topic = option(topic);
    let subscription = option(subscription);
    let connection = &trigger.connection;
    let sessions = trigger.sessions;
    let auto_complete = option(trigger.auto_complete.as_ref());
    let message_type = option(trigger.message_type.as_ref());
    let session_ids = &trigger.session_ids;
    quote! {
        ::berth::__private::TriggerAttributes {
            queue: #queue,
            topic: #topic,
            subscription: #subscription,
            connection: #connection,
            sessions: #sessions,
            auto_complete: #auto_complete,
            message_type: #message_type,
            session_ids: &[#(#session_ids),*],
        }
    }
}

fn option<T: ToTokens>(value: Option<T>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}
