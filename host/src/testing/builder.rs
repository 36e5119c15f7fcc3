//! [`TestHostBuilder`]: what a test gives the host (state, settings, the functions to run)
//! and how the test host starts: its broker first, then the real host against it.

use std::collections::BTreeSet;
use std::error::Error;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use berth_emulator::broker::{Broker, RunningBroker};
use berth_emulator::entity::EntitiesConfig;
use tokio::sync::watch;

use super::launch::Launch;
use super::test_host::{Running, TestHost};
use super::TestError;
use crate::app::embedded::{entities_of, queue};
use crate::app::{enabled, HostBuilder, SetupContext};
use crate::config::{AppSettings, HostConfig};
use crate::registry::{self, ResolvedFunction};
use crate::servicebus::{ConnectionString, ServiceBusClient};

/// How long a wait, a send or a stop may take unless [`TestHostBuilder::timeout`] says
/// otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds a [`TestHost`]: the app's state, the functions to run, app settings, extra
/// entities, the wait deadline.
///
/// ```no_run
/// # struct Prices { vat_percent: u32 }
/// # async fn t() -> Result<(), berth_host::testing::TestError> {
/// use berth_host::testing::TestHost;
///
/// let app = TestHost::builder()
///     .state(Prices { vat_percent: 20 })
///     .only(["price_order"])
///     .setting("Region", "eu-west")
///     .start()
///     .await?;
/// # Ok(()) }
/// ```
pub struct TestHostBuilder {
    host: HostBuilder,
    config: HostConfig,
    settings: Vec<(String, String)>,
    only: Vec<String>,
    queues: Vec<(String, bool)>,
    connection_settings: Vec<String>,
    timeout: Duration,
}

impl Default for TestHostBuilder {
    fn default() -> Self {
        TestHostBuilder::from_host(HostBuilder::new())
    }
}

impl TestHostBuilder {
    /// Starts from `host` (see [`TestHost::with`]).
    pub(super) fn from_host(host: HostBuilder) -> Self {
        TestHostBuilder {
            host,
            config: HostConfig::default(),
            settings: Vec::new(),
            only: Vec::new(),
            queues: Vec::new(),
            connection_settings: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Gives handlers and hooks `value` as `State<T>`, as [`HostBuilder::state`] does.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.host = self.host.state(value);
        self
    }

    /// Makes a `State<T>` when the host starts, as [`HostBuilder::state_with`] does. The
    /// set-up sees the test's app settings, and every function's connection setting names
    /// the test broker (a client made from it sends where the test can look).
    pub fn state_with<T, F, Fut, E>(mut self, setup: F) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce(SetupContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>,
    {
        self.host = self.host.state_with(setup);
        self
    }

    /// Runs only these registered functions (default: every enabled one). A name that is not
    /// registered fails the start, naming it.
    pub fn only<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.only = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets an app setting (what `local.settings.toml` `[values]` or the environment gives
    /// in production): a `%Name%` in a binding, or what a state set-up reads.
    pub fn setting(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.settings.push((name.into(), value.into()));
        self
    }

    /// The host configuration, as `host.toml` gives it (default: [`HostConfig::default`]).
    /// Its `[emulator]` table is not used: the test host brings its own broker.
    pub fn config(mut self, config: HostConfig) -> Self {
        self.config = config;
        self
    }

    /// Also creates the queue `name` (without sessions) on the test broker: where a
    /// function sends, for the test to [`peek`](TestHost::peek).
    pub fn queue(mut self, name: impl Into<String>) -> Self {
        self.queues.push((name.into(), false));
        self
    }

    /// Also creates the session-enabled queue `name` on the test broker.
    pub fn session_queue(mut self, name: impl Into<String>) -> Self {
        self.queues.push((name.into(), true));
        self
    }

    /// Also sets the app setting `name` to the test broker's connection string (the
    /// functions' own connection settings always are): for a client the app makes from
    /// another setting.
    pub fn connection_setting(mut self, name: impl Into<String>) -> Self {
        self.connection_settings.push(name.into());
        self
    }

    /// How long each wait, send and stop may take before it fails saying what it waited
    /// for (default [`DEFAULT_TIMEOUT`], 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Starts the broker with the entities the functions read (and the extra queues), then
    /// the real host against it — the pipeline `host start` runs: the functions'
    /// resolution, the state checks and set-ups, one trigger per entity group.
    pub async fn start(self) -> Result<TestHost, TestError> {
        let functions = self.functions()?;
        let broker = start_broker(&functions, &self.queues).await?;
        let connection_string = broker.connection_string();
        let mut names: BTreeSet<String> = functions
            .iter()
            .map(|f| f.spec.connection.clone())
            .collect();
        names.extend(self.connection_settings);
        let settings = self.settings.into_iter().chain(
            names
                .into_iter()
                .map(|name| (name, connection_string.clone())),
        );
        let (reports, seen) = watch::channel(Vec::new());
        let launch = Launch {
            config: self.config,
            settings: AppSettings::default().with_env(settings),
            only: self.only,
            reports: Arc::new(reports),
        };
        let run = match launch.run(self.host).await {
            Ok(run) => run,
            Err(e) => {
                broker.shutdown().await;
                return Err(e);
            }
        };
        let target = ConnectionString::parse(&connection_string)
            .map_err(|e| TestError::new(format!("the test broker's connection string: {e}")))?;
        Ok(TestHost::new(Running {
            broker: Some(broker),
            client: ServiceBusClient::new(target),
            connection_string,
            functions: functions.iter().map(|f| f.spec.name.to_string()).collect(),
            seen,
            launch,
            run: Some(run),
            timeout: self.timeout,
        }))
    }

    /// The registered functions the test runs, resolved with its settings and configuration.
    fn functions(&self) -> Result<Vec<ResolvedFunction>, TestError> {
        let registrations: Vec<_> = berth::host::registrations().collect();
        if registrations.is_empty() {
            return Err(TestError::new(
                "no function is registered in this test binary: the app's functions must be \
                 linked into it (put them in the app's library and use it from the test, e.g. \
                 `use my_app as _;`)",
            ));
        }
        let hooks: Vec<_> = berth::host::hook_registrations().collect();
        let settings = AppSettings::default().with_env(self.settings.iter().cloned());
        let functions = registry::resolve(&registrations, &hooks, &self.config, &settings)
            .map_err(|errors| {
                let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
                TestError::new(format!(
                    "the functions do not resolve: {}",
                    errors.join("; ")
                ))
            })?;
        let functions = enabled(functions, &self.only).map_err(TestError::new)?;
        if functions.is_empty() {
            return Err(TestError::new(
                "no function to run: every registered function is disabled",
            ));
        }
        Ok(functions)
    }
}

/// Starts an in-memory broker on a free loopback port with the queues, topics and
/// subscriptions `functions` read, and `queues`.
async fn start_broker(
    functions: &[ResolvedFunction],
    queues: &[(String, bool)],
) -> Result<RunningBroker, TestError> {
    let mut entities: EntitiesConfig = entities_of(functions.iter().map(|f| &f.spec));
    for (name, sessions) in queues {
        entities.queues.push(queue(name, *sessions));
    }
    Broker::builder()
        .address(SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0))
        .in_memory()
        .dev_jwt(true)
        .entities(entities)
        .start()
        .await
        .map_err(|e| TestError::new(format!("the test broker did not start: {e}")))
}
