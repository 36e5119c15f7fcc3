//! [`HostBuilder`]: what an app gives its host besides its functions.

use std::error::Error;
use std::future::Future;
use std::process::ExitCode;

use berth::host::{AppState, StateType};

use super::host::Host;
use super::setup::{SetupContext, StateSetup};
use super::state_check::missing_states;
use super::StartError;
use crate::config::{AppSettings, HostConfig};
use crate::registry::{self, ResolvedFunction};
use crate::runtime::{InvocationObserver, Observer};

/// Builds a [`Host`]: the app's state, and (for tests and embedding) its configuration.
///
/// An app's `main` either stays one line, `berth_host::main()`, or gives its state and runs
/// the command line with it:
///
/// ```no_run
/// # struct Prices { vat_percent: u32 }
/// # struct Db;
/// # impl Db { async fn connect(_url: &str) -> Result<Db, std::io::Error> { Ok(Db) } }
/// fn main() -> std::process::ExitCode {
///     berth_host::Host::builder()
///         .state(Prices { vat_percent: 20 })
///         .state_with(|setup| async move {
///             // Runs once at start-up, before any trigger opens.
///             let url = setup.require_setting("DatabaseUrl")?;
///             Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Db::connect(url).await?)
///         })
///         .main()
/// }
/// ```
///
/// Handlers and session hooks then take `State<Prices>` and `State<Db>`. A function that
/// takes a state nobody provides stops the host at start-up, naming the function and the
/// type.
#[derive(Default)]
pub struct HostBuilder {
    state: AppState,
    setups: Vec<StateSetup>,
    config: Option<HostConfig>,
    settings: Option<AppSettings>,
    only: Vec<String>,
    resolved: Option<Vec<ResolvedFunction>>,
    observer: Observer,
}

impl HostBuilder {
    /// A builder with no state.
    pub fn new() -> Self {
        HostBuilder::default()
    }

    /// Gives handlers and hooks `value` as `State<T>` (one value per type; a second one of
    /// the same type replaces the first). It is shared behind an `Arc`, never cloned.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.state.insert(value);
        self
    }

    /// Gives handlers and hooks the `T` that `setup` makes, as `State<T>`. The set-up runs
    /// once when the host starts, after the configuration is loaded and before any trigger
    /// opens (connect a pool, read a secret); set-ups run in the order given, each seeing
    /// the state given before it. An error stops the host, naming the type and the error.
    pub fn state_with<T, F, Fut, E>(mut self, setup: F) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce(SetupContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>,
    {
        self.setups.push(StateSetup::new(setup));
        self
    }

    /// The host configuration (default: [`HostConfig::default`]; `host start` loads
    /// `host.toml`).
    pub fn config(mut self, config: HostConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// The app settings: connection strings and `%Setting%` values (default: none, so every
    /// function runs on the embedded broker; `host start` loads `local.settings.toml` and the
    /// environment).
    pub fn settings(mut self, settings: AppSettings) -> Self {
        self.settings = Some(settings);
        self
    }

    /// Runs only these registered functions (default: every enabled one).
    pub fn functions<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = names.into_iter().map(Into::into).collect();
        self
    }

    /// Tells `observer` what becomes of each delivery: the function, session, message id,
    /// sequence number, delivery count, outcome and settlement (see
    /// [`InvocationReport`](crate::runtime::InvocationReport)); what the test harness
    /// records, and a seam for an app's own auditing. One observer; a second replaces it.
    pub fn observer(mut self, observer: impl InvocationObserver) -> Self {
        self.observer = Observer::new(std::sync::Arc::new(observer));
        self
    }

    /// Functions the command line already resolved and selected.
    pub(crate) fn resolved(mut self, functions: Vec<ResolvedFunction>) -> Self {
        self.resolved = Some(functions);
        self
    }

    /// Runs the `host` command line (`start`, `validate`, `functions`…) with this state:
    /// what `berth_host::main()` does with none.
    pub fn main(self) -> ExitCode {
        crate::cli::run_with(self)
    }

    /// Starts the host: resolves the registered functions, checks the state they take, runs
    /// the state set-ups, starts the ops listener and (for functions without a connection)
    /// the embedded broker, and makes the clients. No trigger is open yet:
    /// [`Host::run_until`] opens them. Every problem found is in the error.
    pub async fn build(mut self) -> Result<Host, StartError> {
        let config = self.config.take().unwrap_or_default();
        let settings = self.settings.take().unwrap_or_default();
        let functions = match self.resolved.take() {
            Some(functions) => functions,
            None => select(&config, &settings, &self.only)?,
        };
        let problems = self.missing(&functions);
        if !problems.is_empty() {
            return Err(StartError::all(problems));
        }
        let mut state = self.state;
        for setup in self.setups {
            setup
                .run(&settings, &config, &mut state)
                .await
                .map_err(StartError::new)?;
        }
        Host::start(config, functions, state, self.observer).await
    }

    /// What `functions` and their hooks take that neither `.state` nor `.state_with` gives.
    pub(crate) fn missing(&self, functions: &[ResolvedFunction]) -> Vec<String> {
        let mut names = self.state.type_names();
        names.extend(self.setups.iter().map(|s| s.provides.name()));
        names.sort_unstable();
        names.dedup();
        let given = |ty: &StateType| {
            self.state.contains(ty) || self.setups.iter().any(|s| s.provides == *ty)
        };
        missing_states(functions, given, &names)
    }
}

/// The registered functions, resolved with `config` and `settings`: the enabled ones, or
/// those named in `only`.
fn select(
    config: &HostConfig,
    settings: &AppSettings,
    only: &[String],
) -> Result<Vec<ResolvedFunction>, StartError> {
    let registrations: Vec<_> = berth::host::registrations().collect();
    let hooks: Vec<_> = berth::host::hook_registrations().collect();
    let functions = registry::resolve(&registrations, &hooks, config, settings)
        .map_err(|errors| StartError::all(errors.iter().map(ToString::to_string).collect()))?;
    enabled(functions, only).map_err(StartError::new)
}

/// The enabled `functions`, or only those named in `only` (every name must be registered).
pub(crate) fn enabled(
    functions: Vec<ResolvedFunction>,
    only: &[String],
) -> Result<Vec<ResolvedFunction>, String> {
    let unknown: Vec<&String> = only
        .iter()
        .filter(|name| !functions.iter().any(|f| *f.spec.name == ***name))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "--functions names functions that are not registered: {unknown:?}"
        ));
    }
    Ok(functions
        .into_iter()
        .filter(|f| !f.disabled)
        .filter(|f| only.is_empty() || only.iter().any(|n| *n == *f.spec.name))
        .collect())
}
