//! Handlers: any async fn whose arguments are extractors and whose output is a
//! `HandlerOutput`, through one tuple macro (as axum does).

use std::future::Future;
use std::sync::Arc;

use crate::app_state::StateType;
use crate::error::{HandlerError, Rejection};
use crate::extract::FromInvocation;
use crate::invocation::Invocation;
use crate::ops::BoxFuture;
use crate::settlement::Settlement;

/// What a handler's return value asks of the host.
#[derive(Debug)]
pub enum Outcome {
    /// Returned normally: complete the message when `auto_complete` is on.
    Done,
    /// Returned an explicit settlement.
    Settle(Settlement),
    /// Returned an error: abandon the message.
    Failed(HandlerError),
}

/// A handler's return type: `()`, `Settlement`, or `Result<T, E>` where `T` is one of those
/// and `E` converts into `HandlerError` (so `anyhow::Result<()>` is one).
///
/// - `()` / `Ok(())`: the message is completed (with `auto_complete`, the default; without
///   it, abandoned unless the handler settled it through `MessageActions`).
/// - a [`Settlement`] / `Ok(Settlement)`: that settlement is applied.
/// - `Err(error)`: the message is abandoned and retried, or dead-lettered at once when the
///   error was made with `HandlerError::dead_letter` / `.dead_letter_on_err(reason)`.
///
/// ```
/// use berth::prelude::*;
///
/// #[service_bus_trigger(queue = "a")]
/// async fn nothing(_body: String) {}
///
/// #[service_bus_trigger(queue = "b")]
/// async fn settles(body: String) -> Settlement {
///     if body.is_empty() { Settlement::dead_letter("Empty", "no body") } else { Settlement::Complete }
/// }
///
/// #[service_bus_trigger(queue = "c")]
/// async fn fallible(body: String) -> Result<(), HandlerError> {
///     let _n: u32 = body.parse()?;
///     Ok(())
/// }
///
/// #[service_bus_trigger(queue = "d")]
/// async fn fallible_settles(body: String) -> Result<Settlement, std::num::ParseIntError> {
///     Ok(if body.parse::<u32>()? > 10 { Settlement::defer() } else { Settlement::Complete })
/// }
///
/// #[service_bus_trigger(queue = "e")]
/// async fn with_anyhow(body: String) -> anyhow::Result<()> {
///     anyhow::ensure!(!body.is_empty(), "empty body");
///     Ok(())
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// nothing(String::new()).await;
/// assert_eq!(settles(String::new()).await.name(), "dead_letter");
/// assert!(fallible("x".into()).await.is_err());
/// assert_eq!(fallible_settles("11".into()).await.unwrap(), Settlement::defer());
/// assert_eq!(with_anyhow(String::new()).await.unwrap_err().to_string(), "empty body");
/// # }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a Service Bus function",
    label = "unsupported return type",
    note = "return `()`, `Settlement`, or `Result<(), E>` / `Result<Settlement, E>` where `E` converts into `HandlerError` (any std error, `anyhow::Error`, `Box<dyn Error + Send + Sync>`, `String`)"
)]
pub trait HandlerOutput {
    /// Converts the returned value into an outcome.
    fn into_outcome(self) -> Outcome;
}

impl HandlerOutput for () {
    fn into_outcome(self) -> Outcome {
        Outcome::Done
    }
}

impl HandlerOutput for Settlement {
    fn into_outcome(self) -> Outcome {
        Outcome::Settle(self)
    }
}

impl<T, E> HandlerOutput for Result<T, E>
where
    T: HandlerOutput,
    E: Into<HandlerError>,
{
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(value) => value.into_outcome(),
            Err(error) => Outcome::Failed(error.into()),
        }
    }
}

/// An async fn usable as a Service Bus function: `Args` is the tuple of its argument types.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a Service Bus function handler",
    note = "a handler is an `async fn` whose arguments are all extractors (at most 16) and whose output is `()`, `Settlement` or `Result<_, E: Into<HandlerError>>`; its future must be `Send`"
)]
pub trait Handler<Args>: Clone + Send + Sync + Sized + 'static {
    /// Whether any argument needs a session trigger.
    const NEEDS_SESSION: bool;

    /// Whether any argument reads the typed session state.
    const NEEDS_STATE: bool;

    /// Extracts the arguments and starts the handler, or returns the first rejection.
    fn call(&self, invocation: &Invocation) -> Result<BoxFuture<'static, Outcome>, Rejection>;

    /// The application state types the arguments read.
    fn app_state_types() -> Vec<StateType>;
}

macro_rules! impl_handler {
    ($($arg:ident),*) => {
        impl<F, Fut, R, $($arg,)*> Handler<($($arg,)*)> for F
        where
            F: Fn($($arg),*) -> Fut + Clone + Send + Sync + 'static,
            Fut: Future<Output = R> + Send + 'static,
            R: HandlerOutput,
            $($arg: FromInvocation + Send + 'static,)*
        {
            const NEEDS_SESSION: bool = false $(|| $arg::NEEDS_SESSION)*;
            const NEEDS_STATE: bool = false $(|| $arg::NEEDS_STATE)*;

            #[allow(non_snake_case, unused_variables)]
            fn call(
                &self,
                invocation: &Invocation,
            ) -> Result<BoxFuture<'static, Outcome>, Rejection> {
                $(let $arg = $arg::from_invocation(invocation)?;)*
                let future = (self)($($arg),*);
                Ok(Box::pin(async move { future.await.into_outcome() }))
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

impl_handler!();
impl_handler!(A1);
impl_handler!(A1, A2);
impl_handler!(A1, A2, A3);
impl_handler!(A1, A2, A3, A4);
impl_handler!(A1, A2, A3, A4, A5);
impl_handler!(A1, A2, A3, A4, A5, A6);
impl_handler!(A1, A2, A3, A4, A5, A6, A7);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15);
impl_handler!(A1, A2, A3, A4, A5, A6, A7, A8, A9, A10, A11, A12, A13, A14, A15, A16);

type CallFn = dyn Fn(&Invocation) -> Result<BoxFuture<'static, Outcome>, Rejection> + Send + Sync;

/// A handler with its argument types erased, as the host stores it.
#[derive(Clone)]
pub struct BoxedHandler {
    call: Arc<CallFn>,
    needs_session: bool,
    needs_state: bool,
    app_state_types: Vec<StateType>,
}

/// What the host needs to know of one handler argument type, before any message.
#[derive(Debug, Clone, Copy)]
pub struct ArgumentInfo {
    /// The argument needs a session trigger (`FromInvocation::NEEDS_SESSION`).
    pub needs_session: bool,
    /// The argument reads the typed session state (`FromInvocation::NEEDS_STATE`).
    pub needs_state: bool,
    /// Adds the application state types the argument reads (`FromInvocation::app_state_types`).
    pub app_state_types: fn(&mut Vec<StateType>),
}

impl ArgumentInfo {
    /// The facts of the extractor `T`.
    pub const fn of<T: FromInvocation>() -> Self {
        ArgumentInfo {
            needs_session: T::NEEDS_SESSION,
            needs_state: T::NEEDS_STATE,
            app_state_types: T::app_state_types,
        }
    }
}

impl BoxedHandler {
    /// Erases a handler's argument types.
    pub fn new<H, Args>(handler: H) -> Self
    where
        H: Handler<Args>,
    {
        BoxedHandler {
            call: Arc::new(move |invocation: &Invocation| handler.call(invocation)),
            needs_session: H::NEEDS_SESSION,
            needs_state: H::NEEDS_STATE,
            app_state_types: H::app_state_types(),
        }
    }

    /// A handler from a function that extracts its arguments itself, and the facts of those
    /// arguments (as `#[service_bus_trigger]` generates it).
    pub fn from_fn<C>(arguments: &[ArgumentInfo], call: C) -> Self
    where
        C: Fn(&Invocation) -> Result<BoxFuture<'static, Outcome>, Rejection>
            + Send
            + Sync
            + 'static,
    {
        let mut app_state_types = Vec::new();
        for argument in arguments {
            (argument.app_state_types)(&mut app_state_types);
        }
        BoxedHandler {
            call: Arc::new(call),
            needs_session: arguments.iter().any(|a| a.needs_session),
            needs_state: arguments.iter().any(|a| a.needs_state),
            app_state_types,
        }
    }

    /// Extracts the arguments and starts the handler, or returns the first rejection.
    pub fn call(&self, invocation: &Invocation) -> Result<BoxFuture<'static, Outcome>, Rejection> {
        (self.call)(invocation)
    }

    /// Whether any argument needs a session trigger.
    pub fn needs_session(&self) -> bool {
        self.needs_session
    }

    /// Whether any argument reads the typed session state (`SessionState<T>`).
    pub fn needs_state(&self) -> bool {
        self.needs_state
    }

    /// The application state types the arguments read (`State<T>`).
    pub fn app_state_types(&self) -> &[StateType] {
        &self.app_state_types
    }
}

impl std::fmt::Debug for BoxedHandler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoxedHandler")
            .field("needs_session", &self.needs_session)
            .finish_non_exhaustive()
    }
}
