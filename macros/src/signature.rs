//! The annotated function: parsed up to its body (which is kept as tokens, never parsed),
//! and checked to be something the host can call.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::{
    braced, Attribute, FnArg, GenericArgument, PathArguments, ReturnType, Signature, Type,
    TypeImplTrait, Visibility,
};

use crate::errors::Errors;

/// What an annotated fn is meant to be: its attribute, the words its errors use, and how many
/// arguments it may take.
pub(crate) struct Role {
    /// The attribute's name, without `#[]`.
    pub(crate) attribute: &'static str,
    /// What the fn is, as the subject of an error ("a Service Bus function").
    noun: &'static str,
    /// The most arguments it may take.
    max_arguments: usize,
    /// The error on the first argument past `max_arguments`.
    too_many: &'static str,
    /// The error on an `impl Trait` argument.
    impl_trait_argument: &'static str,
    /// The error on an `impl Trait` return type.
    impl_trait_output: &'static str,
}

/// `#[service_bus_trigger]`: a handler (`berth::Handler` is implemented up to 16 arguments).
pub(crate) const FUNCTION: Role = Role {
    attribute: "service_bus_trigger",
    noun: "a Service Bus function",
    max_arguments: 16,
    too_many: "a Service Bus function takes at most 16 arguments; take `Message` to read \
               several parts of the message through one argument",
    impl_trait_argument: "`impl Trait` makes a Service Bus function generic: name the \
                          extractor type instead, e.g. `Json<Order>`",
    impl_trait_output: "a Service Bus function returns a named type: `()`, `Settlement`, or \
                        a `Result` of those",
};

/// `#[session_opened]` / `#[session_closing]`: a session hook.
pub(crate) const fn hook(attribute: &'static str) -> Role {
    Role {
        attribute,
        noun: "a session hook",
        max_arguments: 4,
        too_many: "a session hook takes at most 4 arguments: `SessionContext`, \
                   `CancellationToken` and `State<T>` values",
        impl_trait_argument: "`impl Trait` makes a session hook generic: name the type \
                              instead, `SessionContext` or `CancellationToken`",
        impl_trait_output: "a session hook returns a named type: `()` or `Result<(), E>`",
    }
}

/// The signature of the annotated `fn`.
pub(crate) struct AnnotatedFn {
    pub(crate) sig: Signature,
}

/// Parses the annotated item up to its body, which is kept as tokens.
pub(crate) fn parse(item: TokenStream, role: &Role) -> syn::Result<AnnotatedFn> {
    let parser = |input: ParseStream| {
        input.call(Attribute::parse_outer)?;
        input.parse::<Visibility>()?;
        let sig: Signature = input.parse()?;
        let body;
        braced!(body in input);
        body.parse::<TokenStream>()?;
        Ok(AnnotatedFn { sig })
    };
    parser.parse2(item).map_err(|error: syn::Error| {
        syn::Error::new(
            error.span(),
            format!(
                "`#[{}]` goes on an `async fn` item: {error}",
                role.attribute
            ),
        )
    })
}

impl AnnotatedFn {
    /// The argument types, in order (only meaningful once `check` passed).
    pub(crate) fn argument_types(&self) -> impl Iterator<Item = &Type> {
        self.sig.inputs.iter().filter_map(|arg| match arg {
            FnArg::Typed(typed) => Some(&*typed.ty),
            FnArg::Receiver(_) => None,
        })
    }

    /// Records everything that keeps this fn from being a handler; true when nothing did.
    pub(crate) fn check(&self, role: &Role, errors: &mut Errors) -> bool {
        let sig = &self.sig;
        let noun = role.noun;
        let mut ok = true;
        let mut fail = |spanned: &dyn quote::ToTokens, message: &str| {
            errors.push(syn::Error::new_spanned(spanned, message));
            ok = false;
        };
        if let Some(constness) = &sig.constness {
            fail(constness, &format!("{noun} cannot be `const`"));
        }
        if sig.asyncness.is_none() {
            fail(
                &sig.fn_token,
                &format!("{noun} must be an `async fn`: add `async` before `fn`"),
            );
        }
        if let Some(unsafety) = &sig.unsafety {
            fail(unsafety, &format!("{noun} cannot be `unsafe`"));
        }
        if let Some(abi) = &sig.abi {
            fail(abi, &format!("{noun} cannot declare an ABI"));
        }
        let generic =
            format!("{noun} cannot be generic: the host calls it with concrete argument types");
        if !sig.generics.params.is_empty() {
            fail(&sig.generics, &generic);
        } else if let Some(where_clause) = &sig.generics.where_clause {
            fail(where_clause, &generic);
        }
        for (index, arg) in sig.inputs.iter().enumerate() {
            match arg {
                FnArg::Receiver(receiver) => fail(
                    receiver,
                    &format!("{noun} cannot take `self`: write it as a free `async fn`"),
                ),
                FnArg::Typed(typed) => {
                    if let Some(impl_trait) = find_impl_trait(&typed.ty) {
                        fail(impl_trait, role.impl_trait_argument);
                    }
                }
            }
            if index == role.max_arguments {
                fail(arg, role.too_many);
            }
        }
        if let Some(variadic) = &sig.variadic {
            fail(variadic, &format!("{noun} cannot be variadic"));
        }
        if let ReturnType::Type(_, ty) = &sig.output {
            if let Some(impl_trait) = find_impl_trait(ty) {
                fail(impl_trait, role.impl_trait_output);
            }
        }
        ok
    }
}

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
