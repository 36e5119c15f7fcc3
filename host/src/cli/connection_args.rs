//! How the commands that talk to a namespace (`send`, `peek`) find it: an app setting (from
//! `local.settings.toml` or the environment) holding a connection string, or identity-based
//! `<setting>__fullyQualifiedNamespace` settings, or a connection string given directly;
//! and which extra CAs its TLS connection trusts (`--ca-file`, else `host.toml`'s
//! `[service_bus] ca_file`, plus `SSL_CERT_FILE` / `SSL_CERT_DIR`).

use std::path::PathBuf;

use clap::Args;

use crate::config::{connection_not_set, resolve_connection, ConnectionSetting};
use crate::servicebus::{CaSources, ClientOptions, ConnectionString, ConnectionTarget, TlsTrust};

use super::load::{app_settings, host_config};
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
    /// A PEM file of extra CA certificates to trust (added to the public roots and to
    /// SSL_CERT_FILE); default: `[service_bus] ca_file` of host.toml.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
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

    /// The client options: the extra CAs to trust, read and checked now.
    pub(crate) fn client_options(&self) -> Result<ClientOptions, String> {
        let (ca_file, setting) = match &self.ca_file {
            Some(path) => (Some(path.clone()), "--ca-file"),
            None => {
                let config = host_config(&self.files).map_err(|e| e.to_string())?;
                (config.service_bus.ca_file, "[service_bus] ca_file")
            }
        };
        let sources = CaSources::from_env(ca_file.as_deref(), setting);
        let trust = TlsTrust::load(&sources).map_err(|e| e.to_string())?;
        Ok(ClientOptions {
            trust,
            ..ClientOptions::default()
        })
    }
}
