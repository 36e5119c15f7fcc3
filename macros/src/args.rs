//! Parses the attribute's `key = value` list. Only the syntax and each value's type are
//! checked here; what the values mean together is checked in `validate`.
//!
//! To add a key: list it in [`KEYS`], add a field to [`TriggerArgs`] and an arm to
//! [`TriggerArgs::set`]. A value of a new shape (a list of strings, say) also gets a
//! [`Kind`] and a constructor next to [`Setting::string`].

use proc_macro2::TokenStream;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, LitBool, LitStr, Meta, Token};

use crate::errors::Errors;

/// Every key the attribute accepts with the kind of value it takes, in the order the
/// "unknown key" error lists them.
pub(crate) const KEYS: &[(&str, Kind)] = &[
    ("queue", Kind::String),
    ("topic", Kind::String),
    ("subscription", Kind::String),
    ("connection", Kind::String),
    ("sessions", Kind::Bool),
    ("auto_complete", Kind::Bool),
    ("name", Kind::String),
    ("message_type", Kind::String),
    ("session_ids", Kind::StringList),
];

/// The kind of value a key takes.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    String,
    Bool,
    StringList,
}

impl Kind {
    /// What a `key` of this kind takes, for error messages.
    fn expected(self, key: &Ident) -> String {
        match self {
            Kind::String => format!(
                "`{key}` takes a string literal, e.g. `{key} = \"orders\"` or \
                 `{key} = \"%AppSetting%\"`"
            ),
            Kind::Bool => format!("`{key}` takes `true` or `false`"),
            Kind::StringList => format!(
                "`{key}` takes a list of string literals, e.g. `{key} = [\"gw-1\", \
                 \"%GatewayId%\"]`"
            ),
        }
    }
}

/// A value as written, with its key (errors about the key as a whole point at it).
pub(crate) struct Setting<T> {
    pub(crate) key: Ident,
    pub(crate) value: T,
}

/// The attribute's keys, as written; `None` for a key that was left out.
#[derive(Default)]
pub(crate) struct TriggerArgs {
    pub(crate) queue: Option<Setting<LitStr>>,
    pub(crate) topic: Option<Setting<LitStr>>,
    pub(crate) subscription: Option<Setting<LitStr>>,
    pub(crate) connection: Option<Setting<LitStr>>,
    pub(crate) sessions: Option<Setting<LitBool>>,
    pub(crate) auto_complete: Option<Setting<LitBool>>,
    pub(crate) name: Option<Setting<LitStr>>,
    pub(crate) message_type: Option<Setting<LitStr>>,
    pub(crate) session_ids: Option<Setting<Vec<LitStr>>>,
}

/// Parses the attribute's arguments. Records every error found and returns `None` if there
/// was any, so that `validate` does not pile consequences (a "missing queue" after a
/// mistyped `queue`) onto the real mistake.
pub(crate) fn parse(tokens: TokenStream, errors: &mut Errors) -> Option<TriggerArgs> {
    let metas = errors.take(Punctuated::<Meta, Token![,]>::parse_terminated.parse2(tokens))?;
    let mut args = TriggerArgs::default();
    let mut seen: Vec<String> = Vec::with_capacity(metas.len());
    let mut failed = false;
    for meta in &metas {
        let result = key_value(meta).and_then(|(key, value)| {
            let name = key.to_string();
            if seen.contains(&name) {
                return Err(syn::Error::new_spanned(
                    key,
                    format!("duplicate key `{name}`: each key may be given once"),
                ));
            }
            seen.push(name);
            args.set(key.clone(), value)
        });
        failed |= errors.take(result).is_none();
    }
    (!failed).then_some(args)
}

impl TriggerArgs {
    /// Sets one key, checking the type of its value.
    fn set(&mut self, key: Ident, value: &Expr) -> syn::Result<()> {
        match key.to_string().as_str() {
            "queue" => self.queue = Some(Setting::string(key, value)?),
            "topic" => self.topic = Some(Setting::string(key, value)?),
            "subscription" => self.subscription = Some(Setting::string(key, value)?),
            "connection" => self.connection = Some(Setting::string(key, value)?),
            "sessions" => self.sessions = Some(Setting::boolean(key, value)?),
            "auto_complete" => self.auto_complete = Some(Setting::boolean(key, value)?),
            "name" => self.name = Some(Setting::string(key, value)?),
            "message_type" => self.message_type = Some(Setting::string(key, value)?),
            "session_ids" => self.session_ids = Some(Setting::string_list(key, value)?),
            _ => return Err(unknown_key(&key)),
        }
        Ok(())
    }

    /// Every string value, for the checks all strings share.
    pub(crate) fn strings(&self) -> impl Iterator<Item = &Setting<LitStr>> {
        [
            &self.queue,
            &self.topic,
            &self.subscription,
            &self.connection,
            &self.name,
            &self.message_type,
        ]
        .into_iter()
        .flatten()
    }
}

impl Setting<LitStr> {
    fn string(key: Ident, value: &Expr) -> syn::Result<Self> {
        Setting::typed(key, value, Kind::String, |lit| match lit {
            Lit::Str(value) => Some(value),
            _ => None,
        })
    }
}

impl Setting<Vec<LitStr>> {
    /// A list of string literals; an element of another kind is reported on that element.
    fn string_list(key: Ident, value: &Expr) -> syn::Result<Self> {
        let Some(array) = array(value) else {
            return Err(syn::Error::new_spanned(
                value,
                format!(
                    "{}; found {}",
                    Kind::StringList.expected(&key),
                    describe(value)
                ),
            ));
        };
        let mut items = Vec::with_capacity(array.elems.len());
        for element in &array.elems {
            match literal(element) {
                Some(Lit::Str(item)) => items.push(item),
                _ => {
                    return Err(syn::Error::new_spanned(
                        element,
                        format!(
                            "each element of `{key}` is a string literal, e.g. `\"gw-1\"` or \
                             `\"%GatewayId%\"`; found {}",
                            describe(element)
                        ),
                    ))
                }
            }
        }
        Ok(Setting { key, value: items })
    }
}

impl Setting<LitBool> {
    fn boolean(key: Ident, value: &Expr) -> syn::Result<Self> {
        Setting::typed(key, value, Kind::Bool, |lit| match lit {
            Lit::Bool(value) => Some(value),
            _ => None,
        })
    }
}

impl<T> Setting<T> {
    /// The value, when it is the literal `pick` accepts.
    fn typed(
        key: Ident,
        value: &Expr,
        kind: Kind,
        pick: fn(Lit) -> Option<T>,
    ) -> syn::Result<Self> {
        match literal(value).and_then(pick) {
            Some(value) => Ok(Setting { key, value }),
            None => Err(syn::Error::new_spanned(
                value,
                format!("{}; found {}", kind.expected(&key), describe(value)),
            )),
        }
    }
}

/// Splits `key = value`, refusing other shapes and keys that are not known.
fn key_value(meta: &Meta) -> syn::Result<(&Ident, &Expr)> {
    let key = meta.path().get_ident().ok_or_else(|| {
        syn::Error::new_spanned(
            meta.path(),
            format!("a key is a single name: {}", key_list()),
        )
    })?;
    let Some((_, kind)) = KEYS.iter().find(|(name, _)| key == name) else {
        return Err(unknown_key(key));
    };
    match meta {
        Meta::NameValue(pair) => Ok((key, &pair.value)),
        Meta::Path(_) | Meta::List(_) => Err(syn::Error::new_spanned(
            meta,
            format!("expected `{key} = <value>`: {}", kind.expected(key)),
        )),
    }
}

/// The literal a value is, looking through the invisible groups `macro_rules!` adds.
fn literal(value: &Expr) -> Option<Lit> {
    match value {
        Expr::Lit(expr) => Some(expr.lit.clone()),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

/// The list a value is, looking through invisible groups.
fn array(value: &Expr) -> Option<&syn::ExprArray> {
    match value {
        Expr::Array(array) => Some(array),
        Expr::Group(group) => array(&group.expr),
        _ => None,
    }
}

/// What a value is, for "found ..." in error messages.
fn describe(value: &Expr) -> &'static str {
    match literal(value) {
        Some(Lit::Str(_)) => "a string",
        Some(Lit::Bool(_)) => "a bool",
        Some(Lit::Int(_)) => "an integer",
        Some(Lit::Float(_)) => "a number",
        Some(Lit::Char(_)) => "a character",
        Some(Lit::ByteStr(_) | Lit::Byte(_) | Lit::CStr(_)) => "a byte or C string",
        Some(_) => "a literal of another kind",
        None if matches!(value, Expr::Path(_)) => {
            "a name (constants are not supported: write the value itself)"
        }
        None if matches!(value, Expr::Array(_)) => "a list",
        None => "an expression",
    }
}

fn unknown_key(key: &Ident) -> syn::Error {
    syn::Error::new_spanned(key, format!("unknown key `{key}`; {}", key_list()))
}

fn key_list() -> String {
    let keys: Vec<String> = KEYS.iter().map(|(key, _)| format!("`{key}`")).collect();
    format!("expected one of {}", keys.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn every_listed_key_is_settable_with_its_kind() {
        for (key, kind) in KEYS {
            let mut args = TriggerArgs::default();
            let ident = Ident::new(key, proc_macro2::Span::call_site());
            let error = args.set(ident.clone(), &syn::parse_quote!(0)).err();
            let message = error.map(|e| e.to_string()).unwrap_or_default();
            let expected = format!("{}; found an integer", kind.expected(&ident));
            assert_eq!(message, expected);
        }
    }

    #[test]
    fn duplicate_key_is_reported_once_and_stops_validation() {
        let mut errors = Errors::default();
        let args = parse(quote!(queue = "a", queue = "b"), &mut errors);
        assert!(args.is_none());
        let message = errors.into_compile_errors().map(|e| e.to_string());
        let message = message.unwrap_or_default();
        assert!(message.contains("duplicate key `queue`"), "{message}");
    }
}
