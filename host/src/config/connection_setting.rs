//! How a binding's `connection` (say `ServiceBusConnection`) is satisfied by the app settings,
//! as in Azure Functions: either the setting itself holds a connection string, or
//! `ServiceBusConnection__fullyQualifiedNamespace` names the namespace of an identity-based
//! connection, with optional `__credential` (`managedidentity`, `workloadidentity`,
//! `clientsecret`), `__clientId`, `__tenantId`, `__clientSecret`, and
//! `__useDevelopmentEmulator` (`true`: plain AMQP, for the emulator). `:` works in place of
//! `__`. The credential is chosen when the setting is resolved (see
//! [`crate::servicebus::credential::select`]), so mistakes surface in `host validate`.

use std::fmt;

use super::AppSettings;
use crate::servicebus::credential::{self, CredentialKind, IdentityOptions};
use crate::servicebus::IdentityConnection;

/// The identity-based settings under a connection name.
const IDENTITY_KEYS: [&str; 6] = [
    "fullyQualifiedNamespace",
    "credential",
    "clientId",
    "tenantId",
    "clientSecret",
    "useDevelopmentEmulator",
];

/// What a connection's app settings say. `Debug` hides the connection string.
#[derive(Clone, PartialEq, Eq)]
pub enum ConnectionSetting {
    /// The setting holds a connection string (parsed when the client is created).
    ConnectionString(String),
    /// An identity-based connection, credential chosen.
    Identity(IdentityConnection),
}

impl fmt::Debug for ConnectionSetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionSetting::ConnectionString(_) => f.write_str("ConnectionString(<redacted>)"),
            ConnectionSetting::Identity(identity) => {
                f.debug_tuple("Identity").field(identity).finish()
            }
        }
    }
}

/// The error for a connection that is not set at all (for commands that need one).
pub fn connection_not_set(name: &str) -> String {
    format!(
        "connection `{name}`: set the app setting {name} (a connection string) or \
         {name}__fullyQualifiedNamespace (identity-based)"
    )
}

/// Resolves connection `name`: `Ok(None)` when neither form is set. Errors start with
/// "connection `<name>`:" and name the settings involved.
pub fn resolve_connection(
    settings: &AppSettings,
    name: &str,
) -> Result<Option<ConnectionSetting>, String> {
    let fail = |message: String| format!("connection `{name}`: {message}");
    let sub = |key: &str| -> Option<(String, String)> {
        [format!("{name}__{key}"), format!("{name}:{key}")]
            .into_iter()
            .find_map(|setting| {
                settings
                    .get(&setting)
                    .map(|v| (setting, v.trim().to_owned()))
            })
    };
    let identity_set: Vec<String> = IDENTITY_KEYS
        .iter()
        .filter_map(|key| sub(key).map(|(setting, _)| setting))
        .collect();
    let Some((namespace_setting, namespace)) = sub("fullyQualifiedNamespace") else {
        return match (settings.get(name), identity_set.first()) {
            (Some(_), Some(other)) => Err(fail(format!(
                "{name} holds a connection string, but {other} is set too; keep one form"
            ))),
            (Some(text), None) => Ok(Some(ConnectionSetting::ConnectionString(text.to_owned()))),
            (None, Some(other)) => Err(fail(format!(
                "{other} is set but {name}__fullyQualifiedNamespace is not; set it to the \
                 namespace, e.g. myns.servicebus.windows.net"
            ))),
            (None, None) => Ok(None),
        };
    };
    if settings.get(name).is_some() {
        return Err(fail(format!(
            "both {name} (a connection string) and {namespace_setting} (identity-based) are \
             set; keep one"
        )));
    }
    let (host, port) = IdentityConnection::parse_namespace(&namespace)
        .map_err(|e| fail(format!("{namespace_setting}: {e}")))?;
    let use_development_emulator = match sub("useDevelopmentEmulator") {
        None => false,
        Some((_, v)) if v.eq_ignore_ascii_case("true") => true,
        Some((_, v)) if v.eq_ignore_ascii_case("false") => false,
        Some((setting, v)) => {
            return Err(fail(format!("{setting} must be true or false, not `{v}`")))
        }
    };
    let credential = match sub("credential") {
        None => None,
        Some((setting, v)) => Some(CredentialKind::parse(&v).ok_or_else(|| {
            fail(format!(
                "{setting} = `{v}` is not a credential; use managedidentity, workloadidentity \
                 or clientsecret (or leave it unset to choose from the environment)"
            ))
        })?),
    };
    let value = |key: &str| sub(key).map(|(_, v)| v).filter(|v| !v.is_empty());
    let options = IdentityOptions {
        credential,
        client_id: value("clientId"),
        tenant_id: value("tenantId"),
        client_secret: value("clientSecret"),
    };
    let env = |variable: &str| settings.get(variable).map(str::to_owned);
    let credential = credential::select(name, &options, &env).map_err(fail)?;
    Ok(Some(ConnectionSetting::Identity(IdentityConnection {
        host,
        port,
        use_development_emulator,
        credential,
    })))
}

#[cfg(test)]
#[path = "connection_setting_tests.rs"]
mod tests;
