//! `#[session_opened(function = "...")]` and `#[session_closing(function = "...")]`: parse the
//! one key, check the fn, and register it as a session hook through `berth::__private`.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Lit, LitStr, Meta, Token};

use crate::errors::Errors;
use crate::expand::{erase, position, Erasure};
use crate::signature::{self, AnnotatedFn};

/// Which hook attribute is being expanded.
#[derive(Clone, Copy)]
pub(crate) enum HookKind {
    Opened,
    Closing,
}

impl HookKind {
    fn attribute(self) -> &'static str {
        match self {
            HookKind::Opened => "session_opened",
            HookKind::Closing => "session_closing",
        }
    }

    fn variant(self) -> TokenStream {
        match self {
            HookKind::Opened => quote!(::berth::__private::HookKind::Opened),
            HookKind::Closing => quote!(::berth::__private::HookKind::Closing),
        }
    }
}

/// Expands a hook attribute: always the item itself, then the registration or the errors.
pub(crate) fn expand(kind: HookKind, args: TokenStream, item: TokenStream) -> TokenStream {
    let role = signature::hook(kind.attribute());
    let mut errors = Errors::default();
    let function_name = parse_args(kind, args, &mut errors);
    let annotated = errors.take(signature::parse(item.clone(), &role));
    let signature_ok = annotated
        .as_ref()
        .is_some_and(|f| f.check(&role, &mut errors));
    let registration = match (&annotated, &function_name) {
        (Some(annotated), Some(name)) if signature_ok => registration(kind, annotated, name),
        _ => TokenStream::new(),
    };
    let errors = errors.into_compile_errors();
    quote!(#item #registration #errors)
}

/// The `function = "..."` key: the only one, required, a non-empty plain name.
fn parse_args(kind: HookKind, args: TokenStream, errors: &mut Errors) -> Option<LitStr> {
    let usage = format!(
        "expected `#[{}(function = \"<the session function's name>\")]`",
        kind.attribute()
    );
    let metas = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args))?;
    let mut function: Option<LitStr> = None;
    let mut failed = false;
    for meta in &metas {
        let result = match meta {
            Meta::NameValue(pair) if pair.path.is_ident("function") => {
                if function.is_some() {
                    Err(syn::Error::new_spanned(
                        &pair.path,
                        "duplicate key `function`: a hook belongs to one function",
                    ))
                } else {
                    function_name(&pair.value).map(|name| function = Some(name))
                }
            }
            Meta::NameValue(pair) if pair.path.get_ident().is_some() => {
                Err(syn::Error::new_spanned(
                    &pair.path,
                    format!(
                        "unknown key `{}`; the only key is `function`",
                        pair.path
                            .get_ident()
                            .map(ToString::to_string)
                            .unwrap_or_default()
                    ),
                ))
            }
            other => Err(syn::Error::new_spanned(other, &usage)),
        };
        failed |= errors.take(result).is_none();
    }
    if failed {
        return None;
    }
    if function.is_none() {
        errors.push(syn::Error::new(
            Span::call_site(),
            format!("missing `function`: {usage}"),
        ));
    }
    function
}

fn function_name(value: &Expr) -> syn::Result<LitStr> {
    let literal = match value {
        Expr::Lit(expr) => Some(&expr.lit),
        Expr::Group(group) => match &*group.expr {
            Expr::Lit(expr) => Some(&expr.lit),
            _ => None,
        },
        _ => None,
    };
    let Some(Lit::Str(name)) = literal else {
        return Err(syn::Error::new_spanned(
            value,
            "`function` takes the session function's registered name as a string literal, \
             e.g. `function = \"process_session_message\"`",
        ));
    };
    let text = name.value();
    if text.trim().is_empty() {
        return Err(syn::Error::new_spanned(name, "`function` cannot be empty"));
    }
    if text.contains('%') {
        return Err(syn::Error::new_spanned(
            name,
            "`function` is a function name, not a binding expression: write the name the \
             function is registered under (its `name`, else its fn name)",
        ));
    }
    Ok(name.clone())
}

/// A session hook: `FromHookContext` arguments, a `HookOutput`.
const HOOK: Erasure = Erasure {
    erase: "hook_fn",
    info: "hook_argument_info",
    extract: "FromHookContext",
    method: "from_hook_context",
    output: "hook_output",
};

/// The hook's registration, in an anonymous `const`.
fn registration(kind: HookKind, annotated: &AnnotatedFn, function: &LitStr) -> TokenStream {
    let ident = &annotated.sig.ident;
    let boxed = erase(annotated, &HOOK);
    let fn_name = LitStr::new(&ident.to_string(), ident.span());
    let (line, column) = position(ident);
    let variant = kind.variant();
    quote! {
        const _: () = {
            fn __berth_boxed_hook() -> ::berth::__private::BoxedHook {
                #boxed
            }

            ::berth::__private::inventory::submit! {
                ::berth::__private::HookRegistration {
                    kind: #variant,
                    function: #function,
                    rust_path: ::core::concat!(::core::module_path!(), "::", #fn_name),
                    hook: __berth_boxed_hook,
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
