//! Checks what the attribute's values mean together, and turns them into a [`Trigger`].

use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use crate::args::{Setting, TriggerArgs};
use crate::errors::Errors;

/// The connection app setting used when `connection` is left out.
const DEFAULT_CONNECTION: &str = "ServiceBusConnection";

/// A checked trigger, ready to expand.
pub(crate) struct Trigger {
    pub(crate) name: LitStr,
    pub(crate) entity: Entity,
    pub(crate) connection: LitStr,
    pub(crate) sessions: bool,
    pub(crate) auto_complete: Option<bool>,
    pub(crate) message_type: Option<LitStr>,
    pub(crate) session_ids: Vec<LitStr>,
}

/// What the function listens to.
pub(crate) enum Entity {
    Queue(LitStr),
    Subscription { topic: LitStr, subscription: LitStr },
}

/// Checks the arguments of the attribute on `function`; records every error found.
pub(crate) fn validate(
    args: TriggerArgs,
    function: &Ident,
    errors: &mut Errors,
) -> Option<Trigger> {
    let mut ok = true;
    for setting in args.strings() {
        ok &= errors.take(check_string(setting)).is_some();
    }
    let sessions = args.sessions.as_ref().is_some_and(|s| s.value.value);
    if let Some(ids) = &args.session_ids {
        ok &= errors.take(check_session_ids(ids, sessions)).is_some();
    }
    let entity = errors.take(entity(&args));
    let entity = entity.filter(|_| ok)?;
    let name = match args.name {
        Some(name) => name.value,
        None => LitStr::new(&function.unraw().to_string(), function.span()),
    };
    let connection = match args.connection {
        Some(connection) => connection.value,
        None => LitStr::new(DEFAULT_CONNECTION, Span::call_site()),
    };
    Some(Trigger {
        name,
        entity,
        connection,
        sessions,
        auto_complete: args.auto_complete.map(|a| a.value.value),
        message_type: args.message_type.map(|m| m.value),
        session_ids: args.session_ids.map(|s| s.value).unwrap_or_default(),
    })
}

/// A queue, or a topic with a subscription: exactly one of the two.
fn entity(args: &TriggerArgs) -> syn::Result<Entity> {
    match (&args.queue, &args.topic, &args.subscription) {
        (Some(queue), None, None) => Ok(Entity::Queue(queue.value.clone())),
        (None, Some(topic), Some(subscription)) => Ok(Entity::Subscription {
            topic: topic.value.clone(),
            subscription: subscription.value.clone(),
        }),
        (Some(_), Some(topic), _) => Err(syn::Error::new_spanned(
            &topic.key,
            "`queue` and `topic` cannot be used together: a function listens to a queue, \
             or to a subscription of a topic",
        )),
        (Some(_), None, Some(subscription)) => Err(syn::Error::new_spanned(
            &subscription.key,
            "`subscription` belongs with `topic`: a queue has no subscriptions",
        )),
        (None, Some(topic), None) => Err(syn::Error::new_spanned(
            &topic.key,
            "`topic` needs a `subscription`: add `subscription = \"...\"`",
        )),
        (None, None, Some(subscription)) => Err(syn::Error::new_spanned(
            &subscription.key,
            "`subscription` needs a `topic`: add `topic = \"...\"`",
        )),
        (None, None, None) => Err(syn::Error::new(
            Span::call_site(),
            "missing the entity to listen to: add `queue = \"...\"`, or `topic = \"...\"` \
             and `subscription = \"...\"`",
        )),
    }
}

/// `session_ids` needs a session trigger and lists each session once, each a well-formed
/// string.
fn check_session_ids(ids: &Setting<Vec<LitStr>>, sessions: bool) -> syn::Result<()> {
    let key = &ids.key;
    if !sessions {
        return Err(syn::Error::new_spanned(
            key,
            "`session_ids` needs `sessions = true`: only a session trigger accepts sessions \
             by id",
        ));
    }
    if ids.value.is_empty() {
        return Err(syn::Error::new_spanned(
            key,
            "`session_ids` lists no session: list the ids to accept, or remove the key to \
             accept any session",
        ));
    }
    let mut result: syn::Result<()> = Ok(());
    let mut push = |error: syn::Error| match &mut result {
        Ok(()) => result = Err(error),
        Err(combined) => combined.combine(error),
    };
    for (index, id) in ids.value.iter().enumerate() {
        let item = Setting {
            key: key.clone(),
            value: id.clone(),
        };
        if let Err(error) = check_string(&item) {
            push(error);
        } else if ids.value[..index].iter().any(|o| o.value() == id.value()) {
            push(syn::Error::new_spanned(
                id,
                format!("session id `{}` is listed twice", id.value()),
            ));
        }
    }
    result
}

/// A string value must not be empty, and its `%AppSetting%` binding expressions must be
/// well formed; the host resolves them at start-up.
fn check_string(setting: &Setting<LitStr>) -> syn::Result<()> {
    let key = &setting.key;
    let text = setting.value.value();
    let message = if text.trim().is_empty() {
        format!("`{key}` cannot be empty")
    } else {
        match binding_problem(&text) {
            Some(problem) => format!(
                "{problem} in `{key}`: a binding expression is the name of an app setting \
                 between two `%`s, e.g. `%OrdersQueue%`"
            ),
            None => return Ok(()),
        }
    };
    Err(syn::Error::new_spanned(&setting.value, message))
}

/// What is wrong with the `%...%` binding expressions in `text`, if anything.
fn binding_problem(text: &str) -> Option<&'static str> {
    if text.matches('%').count() % 2 == 1 {
        return Some("unbalanced `%`");
    }
    let mut expressions = text.split('%').skip(1).step_by(2);
    expressions
        .any(str::is_empty)
        .then_some("empty binding expression `%%`")
}

#[cfg(test)]
mod tests {
    use super::binding_problem;

    #[test]
    fn binding_expressions() {
        assert_eq!(binding_problem("orders"), None);
        assert_eq!(binding_problem("%Queue%"), None);
        assert_eq!(binding_problem("%Env%-orders-%Region%"), None);
        assert_eq!(binding_problem("%Queue"), Some("unbalanced `%`"));
        assert_eq!(binding_problem("a%b%c%"), Some("unbalanced `%`"));
        assert_eq!(binding_problem("%%"), Some("empty binding expression `%%`"));
        assert_eq!(
            binding_problem("x%%y"),
            Some("empty binding expression `%%`")
        );
        assert_eq!(
            binding_problem("%A%%%"),
            Some("empty binding expression `%%`")
        );
        assert_eq!(binding_problem("%A%%B%"), None);
    }
}
