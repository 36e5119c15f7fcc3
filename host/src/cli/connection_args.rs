//! How the commands that talk to a namespace (`send`, `peek`) find it: an app setting (from
//! `local.settings.toml` or the environment) holding a connection string, or identity-based
//! `<setting>__fullyQualifiedNamespace` settings, or a connection string given directly.

use clap::Args;

use crate::config::{connection_not_set, resolve_connection, ConnectionSetting};
use crate::servicebus::{ConnectionString, ConnectionTarget};

use super::load::app_settings;
use super::ConfigArgs;

/// The connection options of `host send` and `host peek`.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Where the app settings are (for `--connection`).
    #[command(flatten)]
    pub files: ConfigArgs,
    /// The connection's app setting: it holds a connection string, or
    /// `<name>__fullyQualifiedNamespace` makes the connection identity-based.
    #[arg(long, default_value = "ServiceBusConnection")]
    pub connection: String,
    /// A connection string, instead of an app setting.
    #[arg(long, env = "BERTH_CONNECTION_STRING", hide_env_values = true)]
    pub connection_string: Option<String>,
}

impl ConnectionArgs {
    /// Where and how to connect; the error says where it was looked for.
    pub(crate) fn resolve(&self) -> Result<ConnectionTarget, String> {
        let text = match &self.connection_string {
            Some(text) => text.clone(),
            None => {
                let settings = app_settings(&self.files).map_err(|e| e.to_string())?;
                match resolve_connection(&settings, &self.connection)? {
                    Some(ConnectionSetting::ConnectionString(text)) => text,
                    Some(ConnectionSetting::Identity(identity)) => return Ok(identity.into()),
                    None => {
                        return Err(format!(
                            "{} ({}); pass --connection-string, or start `host emulator` and \
                             use the connection string it prints",
                            connection_not_set(&self.connection),
                            settings.looked_in()
                        ))
                    }
                }
            }
        };
        ConnectionString::parse(&text)
            .map(ConnectionTarget::from)
            .map_err(|e| e.to_string())
    }
}
