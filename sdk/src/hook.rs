//! Session lifecycle hooks: async fns the host calls when it opens a session (after accepting
//! it, before its first message) and when it is about to close one (before releasing it),
//! as .NET's `SessionInitializingAsync` / `SessionClosingAsync`.

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::error::HandlerError;
use crate::ops::BoxFuture;
use crate::session::SessionContext;

/// When in a session's life a hook is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HookKind {
    /// After the session is accepted, before its first message (`#[session_opened]`).
    Opened,
    /// Before the session is released; not when its lock was lost (`#[session_closing]`).
    Closing,
}

impl HookKind {
    /// The attribute that registers a hook of this kind, without `#[]`.
    pub fn attribute(self) -> &'static str {
        match self {
            HookKind::Opened => "session_opened",
            HookKind::Closing => "session_closing",
        }
    }
}

impl std::fmt::Display for HookKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.attribute())
    }
}

/// What a hook call can take its arguments from. Hosts build it.
#[derive(Debug, Clone)]
pub struct HookContext {
    session: SessionContext,
    cancellation: CancellationToken,
}

impl HookContext {
    /// A call for `session`, cancelled by `cancellation` (shutdown or lock loss). For hosts.
    #[doc(hidden)]
    pub fn new(session: SessionContext, cancellation: CancellationToken) -> Self {
        HookContext {
            session,
            cancellation,
        }
    }

    /// The session.
    pub fn session(&self) -> &SessionContext {
        &self.session
    }

    /// The token that fires on shutdown or on session lock loss.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancellation
    }
}

/// What the host needs to know of one session hook argument type, before any session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookArgumentInfo {}

impl HookArgumentInfo {
    /// The facts of the hook argument `T`.
    pub const fn of<T: FromHookContext>() -> Self {
        HookArgumentInfo {}
    }
}

/// A type a session hook can take as an argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a session hook",
    label = "not a session hook argument",
    note = "a session hook takes `SessionContext` and, optionally, `CancellationToken`; it sees the session's id and state, not a message"
)]
pub trait FromHookContext: Sized {
    /// Builds the argument.
    fn from_hook_context(context: &HookContext) -> Self;
}

impl FromHookContext for SessionContext {
    fn from_hook_context(context: &HookContext) -> Self {
        context.session.clone()
    }
}

impl FromHookContext for CancellationToken {
    fn from_hook_context(context: &HookContext) -> Self {
        context.cancellation.clone()
    }
}

/// A session hook's return type: `()` or `Result<(), E>` where `E` converts into
/// `HandlerError`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a session hook",
    label = "unsupported return type",
    note = "return `()` or `Result<(), E>` where `E` converts into `HandlerError` (any std error, `anyhow::Error`, `Box<dyn Error + Send + Sync>`, `String`)"
)]
pub trait HookOutput {
    /// Whether the hook succeeded.
    fn into_result(self) -> Result<(), HandlerError>;
}

impl HookOutput for () {
    fn into_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl<E: Into<HandlerError>> HookOutput for Result<(), E> {
    fn into_result(self) -> Result<(), HandlerError> {
        self.map_err(Into::into)
    }
}

/// An async fn usable as a session hook: `Args` is the tuple of its argument types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a session hook",
    note = "a session hook is an `async fn` taking `SessionContext` and, optionally, `CancellationToken`, returning `()` or `Result<(), E: Into<HandlerError>>`; its future must be `Send`"
)]
pub trait Hook<Args>: Clone + Send + Sync + Sized + 'static {
    /// Builds the arguments and starts the hook.
    fn call(&self, context: &HookContext) -> BoxFuture<'static, Result<(), HandlerError>>;
}

macro_rules! impl_hook {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Hook<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: HookOutput,
            $($arg: FromHookContext + Send + 'static,)*
        {
            #[allow(non_snake_case, unused_variables)]
            fn call(&self, context: &HookContext) -> BoxFuture<'static, Result<(), HandlerError>> {
                $(let $arg = $arg::from_hook_context(context);)*
                let future = (self)($($arg),*);
                Box::pin(async move { future.await.into_result() })
            }
        }
    };
}

impl_hook!();
impl_hook!(A1);
impl_hook!(A1, A2);

type HookFn = dyn Fn(&HookContext) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync;

/// A session hook with its argument types erased, as the host stores it.
#[derive(Clone)]
pub struct BoxedHook {
    call: Arc<HookFn>,
}

impl BoxedHook {
    /// Erases a hook's argument types.
    pub fn new<H, Args>(hook: H) -> Self
    where
        H: Hook<Args>,
    {
        BoxedHook {
            call: Arc::new(move |context: &HookContext| hook.call(context)),
        }
    }

    /// A hook from a function that builds its arguments itself (as the session hook
    /// attributes generate it); `arguments` are the facts of its argument types.
    pub fn from_fn<C>(arguments: &[HookArgumentInfo], call: C) -> Self
    where
        C: Fn(&HookContext) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync + 'static,
    {
        let _ = arguments;
        BoxedHook {
            call: Arc::new(call),
        }
    }

    /// Starts the hook.
    pub fn call(&self, context: &HookContext) -> BoxFuture<'static, Result<(), HandlerError>> {
        (self.call)(context)
    }
}

impl std::fmt::Debug for BoxedHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxedHook").finish_non_exhaustive()
    }
}
