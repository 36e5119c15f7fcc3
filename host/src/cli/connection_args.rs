//! How the commands that talk to a namespace (`send`, `peek`) find its connection string: an
//! app setting (from `local.settings.toml` or the environment), or one given directly.

use clap::Args;

use crate::servicebus::ConnectionString;

use super::load::app_settings;
use super::ConfigArgs;

/// The connection options of `host send` and `host peek`.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Where the app settings are (for `--connection`).
    #[command(flatten)]
    pub files: ConfigArgs,
    /// The app setting holding the connection string.
    #[arg(long, default_value = "ServiceBusConnection")]
    pub connection: String,
    /// A connection string, instead of an app setting.
    #[arg(long, env = "BERTH_CONNECTION_STRING", hide_env_values = true)]
    pub connection_string: Option<String>,
}

impl ConnectionArgs {
    /// The connection string to use; the error says where it was looked for.
    pub(crate) fn resolve(&self) -> Result<ConnectionString, String> {
        let text = match &self.connection_string {
            Some(text) => text.clone(),
            None => {
                let settings = app_settings(&self.files).map_err(|e| e.to_string())?;
                settings
                    .get(&self.connection)
                    .map(str::to_owned)
                    .ok_or_else(|| {
                        format!(
                            "the app setting `{}` is not set ({}); pass --connection-string, or \
                             start `host emulator` and use the connection string it prints",
                            self.connection,
                            settings.looked_in()
                        )
                    })?
            }
        };
        ConnectionString::parse(&text).map_err(|e| e.to_string())
    }
}
