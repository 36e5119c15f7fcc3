//! The embedded broker of a host built without the `embedded-broker` feature: there is none.
//!
//! A production build (`--no-default-features`) leaves the broker out, so every function
//! needs a connection. One without stops the host at start-up, naming the function, the
//! connection setting it reads and the feature — not at the first message, and not by
//! quietly listening on an in-process broker nobody can reach. `[emulator]` in host.toml is
//! still parsed (the same file works with either build) and, like in a build with the broker
//! whose functions all have connections, has nothing to configure.
//!
//! [`RunningBroker`] has no values, so the host's code for a running broker (its connection
//! string, seeding, shutdown) stays in one place and is unreachable here, checked by the
//! compiler.

use std::collections::BTreeMap;

use super::StartError;
use crate::config::HostConfig;
use crate::registry::ResolvedFunction;
use crate::servicebus::{ClientOptions, ServiceBusClient};

/// A running embedded broker, which this build cannot have.
pub(crate) enum RunningBroker {}

impl RunningBroker {
    /// Its connection string (never called: there is no broker).
    pub(crate) fn connection_string(&self) -> String {
        match *self {}
    }

    /// Stops it (never called: there is no broker).
    pub(crate) async fn shutdown(self) {
        match self {}
    }
}

/// Refuses the functions without a connection: this build has no broker to run them on.
pub(super) async fn start(
    _config: &HostConfig,
    functions: &[ResolvedFunction],
) -> Result<RunningBroker, StartError> {
    Err(StartError::all(
        functions
            .iter()
            .filter(|f| f.connection.is_none())
            .map(|f| refusal(&f.spec.name, &f.spec.connection))
            .collect(),
    ))
}

/// Seeds the broker (never called: there is no broker).
pub(super) async fn seed(
    _config: &HostConfig,
    broker: &RunningBroker,
    _clients: &BTreeMap<String, ServiceBusClient>,
    _client_options: ClientOptions,
) -> Result<(), String> {
    match *broker {}
}

/// Why `function`, whose connection setting `connection` is not configured, cannot start.
fn refusal(function: &str, connection: &str) -> String {
    format!(
        "function `{function}`: connection `{connection}` is not configured, and this host was \
         built without the embedded broker (feature `embedded-broker`); configure connection \
         `{connection}` (a connection string, or `{connection}__fullyQualifiedNamespace` for \
         an identity) in local.settings.toml or the environment, or build berth-host with its \
         default feature `embedded-broker`"
    )
}

#[cfg(test)]
mod tests {
    use berth::prelude::*;

    use crate::config::AppSettings;
    use crate::Host;

    #[service_bus_trigger(queue = "orders", sessions = true)]
    async fn no_broker_orders(_body: String) {}

    /// A function without a connection stops the host at start-up with the refusal.
    #[tokio::test]
    async fn a_function_without_a_connection_stops_the_host() {
        let result = Host::builder()
            .settings(AppSettings::default())
            .functions(["no_broker_orders"])
            .build()
            .await;
        let Err(error) = result else {
            panic!("a host without the embedded broker started a function without a connection");
        };
        let text = error.to_string();
        assert!(
            text.contains(
                "function `no_broker_orders`: connection `ServiceBusConnection` is not configured"
            ) && text.contains("built without the embedded broker (feature `embedded-broker`)"),
            "unexpected start-up error: {text}"
        );
    }
}
