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
    let boxed = erase(function, &HANDLER);
    let attributes = attributes(trigger);
    let name = &trigger.name;
    let fn_name = LitStr::new(&ident.to_string(), ident.span());
    let (line, column) = position(ident);
    quote! {
        const _: () = {
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

/// What the generated code checks and calls, for a handler or a session hook.
pub(crate) struct Erasure {
    /// `__private::<erase>(arguments, call)`: builds the type-erased fn.
    pub(crate) erase: &'static str,
    /// `__private::<info>::<T>()`: what the host needs to know of one argument type.
    pub(crate) info: &'static str,
    /// `<T as __private::<extract>>`: the argument trait, whose method takes `context`.
    pub(crate) extract: &'static str,
    /// The extraction method; it returns a `Result`, and a refusal ends the call.
    pub(crate) method: &'static str,
    /// `__private::<output>::<R>(future)`: the output check and conversion.
    pub(crate) output: &'static str,
}

/// A Service Bus function: `FromInvocation` arguments, a `HandlerOutput`.
pub(crate) const HANDLER: Erasure = Erasure {
    erase: "handler_fn",
    info: "argument_info",
    extract: "FromInvocation",
    method: "from_invocation",
    output: "handler_output",
};

/// The type-erased fn: a closure that extracts each argument as its own statement and calls
/// the author's fn, and per-argument facts for the host.
///
/// Every check lands once, on the author's token: an argument type that is no extractor is
/// reported on that type (its `info` and extraction are spanned there, and rustc reports one
/// unmet bound once per place), a return type that does not fit on the return type
/// (`output`), and a future that is not `Send` on the fn's name (`send`, which names the
/// value that keeps it from being `Send`). No bound covers the whole fn, so no second error
/// repeats a mistake already reported.
pub(crate) fn erase(function: &AnnotatedFn, erasure: &Erasure) -> TokenStream {
    let ident = &function.sig.ident;
    let names: Vec<Ident> = (0..function.argument_types().count())
        .map(|i| format_ident!("__berth_argument_{}", i))
        .collect();
    let erase = format_ident!("{}", erasure.erase);
    let info = format_ident!("{}", erasure.info);
    let extract = format_ident!("{}", erasure.extract);
    let method = format_ident!("{}", erasure.method);
    let output = format_ident!("{}", erasure.output);
    let infos = function
        .argument_types()
        .map(|ty| quote_spanned!(ty.span()=> ::berth::__private::#info::<#ty>()));
    let extractions = function.argument_types().zip(&names).map(|(ty, name)| {
        quote_spanned! {ty.span()=>
            let #name = <#ty as ::berth::__private::#extract>::#method(__berth_context)?;
        }
    });
    let future = quote_spanned!(ident.span()=> ::berth::__private::send(#ident(#(#names),*)));
    let converted = match &function.sig.output {
        ReturnType::Type(_, ty) => {
            quote_spanned!(ty.span()=> ::berth::__private::#output::<#ty>(__berth_future))
        }
        ReturnType::Default => quote!(::berth::__private::#output::<()>(__berth_future)),
    };
    quote! {
        ::berth::__private::#erase(
            &[#(#infos),*],
            |__berth_context| {
                #(#extractions)*
                let __berth_future = #future;
                ::core::result::Result::Ok(#converted)
            },
        )
    }
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
