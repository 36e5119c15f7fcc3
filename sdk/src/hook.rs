//! Session lifecycle hooks: async fns the host calls when it opens a session (after accepting
//! it, before its first message) and when it is about to close one (before releasing it),
//! as .NET's `SessionInitializingAsync` / `SessionClosingAsync`.

use std::future::Future;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::app_state::{AppState, StateType};
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
    app_state: Option<Arc<AppState>>,
}

impl HookContext {
    /// A call for `session`, cancelled by `cancellation` (shutdown or lock loss). For hosts.
    #[doc(hidden)]
    pub fn new(session: SessionContext, cancellation: CancellationToken) -> Self {
        HookContext {
            session,
            cancellation,
            app_state: None,
        }
    }

    /// Lends the call the app's state, for `State<T>`.
    pub fn with_app_state(mut self, state: Arc<AppState>) -> Self {
        self.app_state = Some(state);
        self
    }

    /// The app's state, when the host lent it.
    pub fn app_state(&self) -> Option<&AppState> {
        self.app_state.as_deref()
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
#[derive(Debug, Clone, Copy)]
pub struct HookArgumentInfo {
    /// Adds the application state types the argument reads
    /// (`FromHookContext::app_state_types`).
    pub app_state_types: fn(&mut Vec<StateType>),
}

impl HookArgumentInfo {
    /// The facts of the hook argument `T`.
    pub const fn of<T: FromHookContext>() -> Self {
        HookArgumentInfo {
            app_state_types: T::app_state_types,
        }
    }
}

/// A type a session hook can take as an argument.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an argument of a session hook",
    label = "not a session hook argument",
    note = "a session hook takes `SessionContext` and, optionally, `CancellationToken` and `State<T>`; it sees the session's id and state, not a message"
)]
pub trait FromHookContext: Sized {
    /// Builds the argument; an error fails the hook call.
    fn from_hook_context(context: &HookContext) -> Result<Self, HandlerError>;

    /// Adds the application state types this argument reads ([`State<T>`](crate::State)),
    /// which the host checks are provided before it starts.
    fn app_state_types(types: &mut Vec<StateType>) {
        let _ = types;
    }
}

impl FromHookContext for SessionContext {
    fn from_hook_context(context: &HookContext) -> Result<Self, HandlerError> {
        Ok(context.session.clone())
    }
}

impl FromHookContext for CancellationToken {
    fn from_hook_context(context: &HookContext) -> Result<Self, HandlerError> {
        Ok(context.cancellation.clone())
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
    note = "a session hook is an `async fn` taking `SessionContext` and, optionally, `CancellationToken` and `State<T>`, returning `()` or `Result<(), E: Into<HandlerError>>`; its future must be `Send`"
)]
pub trait Hook<Args>: Clone + Send + Sync + Sized + 'static {
    /// Builds the arguments and starts the hook.
    fn call(&self, context: &HookContext) -> BoxFuture<'static, Result<(), HandlerError>>;

    /// The application state types the arguments read.
    fn app_state_types() -> Vec<StateType>;
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
                $(let $arg = match $arg::from_hook_context(context) {
                    Ok(arg) => arg,
                    Err(e) => return Box::pin(async move { Err(e) }),
                };)*
                let future = (self)($($arg),*);
                Box::pin(async move { future.await.into_result() })
            }

            fn app_state_types() -> Vec<StateType> {
                #[allow(unused_mut)]
                let mut types = Vec::new();
                $($arg::app_state_types(&mut types);)*
                types
            }
        }
    };
}

impl_hook!();
impl_hook!(A1);
impl_hook!(A1, A2);
impl_hook!(A1, A2, A3);
impl_hook!(A1, A2, A3, A4);

type HookFn = dyn Fn(&HookContext) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync;

/// A session hook with its argument types erased, as the host stores it.
#[derive(Clone)]
pub struct BoxedHook {
    call: Arc<HookFn>,
    app_state_types: Vec<StateType>,
}

impl BoxedHook {
    /// Erases a hook's argument types.
    pub fn new<H, Args>(hook: H) -> Self
    where
        H: Hook<Args>,
    {
        BoxedHook {
            call: Arc::new(move |context: &HookContext| hook.call(context)),
            app_state_types: H::app_state_types(),
        }
    }

    /// A hook from a function that builds its arguments itself (as the session hook
    /// attributes generate it); `arguments` are the facts of its argument types.
    pub fn from_fn<C>(arguments: &[HookArgumentInfo], call: C) -> Self
    where
        C: Fn(&HookContext) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync + 'static,
    {
        let mut app_state_types = Vec::new();
        for argument in arguments {
            (argument.app_state_types)(&mut app_state_types);
        }
        BoxedHook {
            call: Arc::new(call),
            app_state_types,
        }
    }

    /// Starts the hook.
    pub fn call(&self, context: &HookContext) -> BoxFuture<'static, Result<(), HandlerError>> {
        (self.call)(context)
    }

    /// The application state types the arguments read (`State<T>`).
    pub fn app_state_types(&self) -> &[StateType] {
        &self.app_state_types
    }
}

impl std::fmt::Debug for BoxedHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxedHook").finish_non_exhaustive()
    }
}
