//! Async set-up of application state ([`HostBuilder::state_with`](super::HostBuilder::state_with)):
//! what a set-up function can read, and how its result joins the app's state.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use berth::host::BoxFuture;
use berth::host::{AppState, StateType};

use crate::config::{AppSettings, HostConfig};

/// What a set-up function can read: the app settings (connection strings, secrets from the
/// environment), the host configuration, and the state provided before it.
#[derive(Debug, Clone)]
pub struct SetupContext {
    settings: AppSettings,
    config: HostConfig,
    state: AppState,
}

impl SetupContext {
    pub(super) fn new(settings: AppSettings, config: HostConfig, state: AppState) -> Self {
        SetupContext {
            settings,
            config,
            state,
        }
    }

    /// The app setting `name` (from `local.settings.toml`'s `[values]` or the environment).
    pub fn setting(&self, name: &str) -> Option<&str> {
        self.settings.get(name)
    }

    /// The app setting `name`, or an error naming it and where it was looked for (use `?`).
    pub fn require_setting(&self, name: &str) -> Result<&str, SettingMissing> {
        self.settings.get(name).ok_or_else(|| SettingMissing {
            name: name.to_owned(),
            looked_in: self.settings.looked_in(),
        })
    }

    /// The host configuration (`host.toml`).
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// The state of type `T` given before this set-up (by `.state` or an earlier
    /// `.state_with`).
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.state.get::<T>()
    }
}

/// An app setting a set-up function requires is not set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingMissing {
    name: String,
    looked_in: String,
}

impl fmt::Display for SettingMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the app setting `{}` is not set (looked in {})",
            self.name, self.looked_in
        )
    }
}

impl Error for SettingMissing {}

type BoxError = Box<dyn Error + Send + Sync>;
type Insert = Box<dyn FnOnce(&mut AppState) + Send>;
type SetupFn = Box<dyn FnOnce(SetupContext) -> BoxFuture<'static, Result<Insert, BoxError>> + Send>;

/// One `.state_with` set-up: the type it provides and how to make it.
pub(super) struct StateSetup {
    pub(super) provides: StateType,
    run: SetupFn,
}

impl StateSetup {
    pub(super) fn new<T, F, Fut, E>(setup: F) -> Self
    where
        T: Send + Sync + 'static,
        F: FnOnce(SetupContext) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        E: Into<BoxError>,
    {
        StateSetup {
            provides: StateType::of::<T>(),
            run: Box::new(move |context| {
                let made = setup(context);
                Box::pin(async move {
                    let value = made.await.map_err(Into::into)?;
                    let insert: Insert = Box::new(move |state: &mut AppState| {
                        state.insert(value);
                    });
                    Ok(insert)
                })
            }),
        }
    }

    /// Runs the set-up and adds what it made to `state`.
    pub(super) async fn run(
        self,
        settings: &AppSettings,
        config: &HostConfig,
        state: &mut AppState,
    ) -> Result<(), String> {
        let context = SetupContext::new(settings.clone(), config.clone(), state.clone());
        match (self.run)(context).await {
            Ok(insert) => {
                insert(state);
                Ok(())
            }
            Err(e) => Err(format!(
                "setting up the application state `{}` failed: {e}",
                self.provides
            )),
        }
    }
}
