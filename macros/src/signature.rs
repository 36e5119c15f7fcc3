//! The annotated function: parsed up to its body (which is kept as tokens, never parsed),
//! and checked to be something the host can call.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{
    braced, Attribute, FnArg, GenericArgument, PathArguments, ReturnType, Signature, Type,
    TypeImplTrait, Visibility,
};

use crate::errors::Errors;

/// The most arguments a handler may take (`berth::Handler` is implemented up to this arity).
const MAX_ARGUMENTS: usize = 16;

/// The signature of the annotated `fn`.
pub(crate) struct TriggerFn {
    pub(crate) sig: Signature,
}

impl Parse for TriggerFn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let parsed = (|| {
            input.call(Attribute::parse_outer)?;
            input.parse::<Visibility>()?;
            let sig: Signature = input.parse()?;
            let body;
            braced!(body in input);
            body.parse::<TokenStream>()?;
            Ok(TriggerFn { sig })
        })();
        parsed.map_err(|error: syn::Error| {
            syn::Error::new(
                error.span(),
                format!("`#[service_bus_trigger]` goes on an `async fn` item: {error}"),
            )
        })
    }
}

impl TriggerFn {
    /// The argument types, in order (only meaningful once `check` passed).
    pub(crate) fn argument_types(&self) -> impl Iterator<Item = &Type> {
        self.sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        })
    }

    /// Records everything that keeps this fn from being a handler; true when nothing did.
    pub(crate) fn check(&self, errors: &mut Errors) -> bool {
        let sig = &self.sig;
        let mut ok = true;
        let mut fail = |spanned: &dyn quote::ToTokens, message: &str| {
            errors.push(syn::Error::new_spanned(spanned, message));
            ok = false;
        };
        if let Some(constness) = &sig.constness {
            fail(constness, "a Service Bus function cannot be `const`");
        }
        if sig.asyncness.is_none() {
            fail(
                &sig.fn_token,
                "a Service Bus function must be an `async fn`: add `async` before `fn`",
            );
        }
        if let Some(unsafety) = &sig.unsafety {
            fail(unsafety, "a Service Bus function cannot be `unsafe`");
        }
        if let Some(abi) = &sig.abi {
            fail(abi, "a Service Bus function cannot declare an ABI");
        }
        if !sig.generics.params.is_empty() {
            fail(&sig.generics, GENERIC);
        } else if let Some(where_clause) = &sig.generics.where_clause {
            fail(where_clause, GENERIC);
        }
        for (index, arg) in sig.inputs.iter().enumerate() {
            match arg {
                FnArg::Receiver(receiver) => fail(
                    receiver,
                    "a Service Bus function cannot take `self`: write it as a free `async fn`",
                ),
                FnArg::Typed(typed) => {
                    if let Some(impl_trait) = find_impl_trait(&typed.ty) {
                        fail(impl_trait, IMPL_TRAIT_ARGUMENT);
                    }
                }
            }
            if index == MAX_ARGUMENTS {
                fail(
                    arg,
                    "a Service Bus function takes at most 16 arguments; take `Message` to \
                     read several parts of the message through one argument",
                );
            }
        }
        if let Some(variadic) = &sig.variadic {
            fail(variadic, "a Service Bus function cannot be variadic");
        }
        if let ReturnType::Type(_, ty) = &sig.output {
            if let Some(impl_trait) = find_impl_trait(ty) {
                fail(impl_trait, IMPL_TRAIT_OUTPUT);
            }
        }
        ok
    }
}

const GENERIC: &str =
    "a Service Bus function cannot be generic: the host calls it with concrete argument types";

const IMPL_TRAIT_ARGUMENT: &str = "`impl Trait` makes a Service Bus function generic: name \
     the extractor type instead, e.g. `Json<Order>`";

const IMPL_TRAIT_OUTPUT: &str = "a Service Bus function returns a named type: `()`, \
     `Settlement`, or a `Result` of those";

/// The first `impl Trait` inside `ty`, looking through references, tuples, arrays and
/// generic arguments.
fn find_impl_trait(ty: &Type) -> Option<&TypeImplTrait> {
    match ty {
        Type::ImplTrait(impl_trait) => Some(impl_trait),
        Type::Array(array) => find_impl_trait(&array.elem),
        Type::Group(group) => find_impl_trait(&group.elem),
        Type::Paren(paren) => find_impl_trait(&paren.elem),
        Type::Ptr(ptr) => find_impl_trait(&ptr.elem),
        Type::Reference(reference) => find_impl_trait(&reference.elem),
        Type::Slice(slice) => find_impl_trait(&slice.elem),
        Type::Tuple(tuple) => tuple.elems.iter().find_map(find_impl_trait),
        Type::Path(path) => path
            .path
            .segments
            .iter()
            .filter_map(|segment| match &segment.arguments {
                PathArguments::AngleBracketed(args) => Some(args.args.iter()),
                _ => None,
            })
            .flatten()
            .find_map(|arg| match arg {
                GenericArgument::Type(ty) => find_impl_trait(ty),
                _ => None,
            }),
        _ => None,
    }
}
