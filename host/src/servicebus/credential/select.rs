//! Choosing a credential from a connection's settings and the environment.
//!
//! With `<connection>__credential` unset the order is `DefaultAzureCredential`'s: a client
//! secret (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, or the connection's
//! `__clientSecret`), else a workload identity (`AZURE_FEDERATED_TOKEN_FILE` with the client
//! and tenant ids), else a managed identity (App Service's `IDENTITY_ENDPOINT` +
//! `IDENTITY_HEADER`, else IMDS; user-assigned when a client id is known). `__credential`
//! picks one of them; `__clientId` and `__tenantId` win over `AZURE_CLIENT_ID` and
//! `AZURE_TENANT_ID`. `AZURE_AUTHORITY_HOST` and `AZURE_POD_IDENTITY_AUTHORITY_HOST` (IMDS)
//! move the endpoints, e.g. to a sovereign cloud or a local fake; plain `http` is allowed for
//! loopback hosts only.

use std::path::PathBuf;

use super::{ManagedIdentitySource, TokenCredential, DEFAULT_AUTHORITY_HOST, IMDS_ENDPOINT};

/// Which credential `<connection>__credential` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// `managedidentity`.
    ManagedIdentity,
    /// `workloadidentity`.
    WorkloadIdentity,
    /// `clientsecret`.
    ClientSecret,
}

impl CredentialKind {
    /// Parses a `__credential` value (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "managedidentity" => Some(CredentialKind::ManagedIdentity),
            "workloadidentity" => Some(CredentialKind::WorkloadIdentity),
            "clientsecret" => Some(CredentialKind::ClientSecret),
            _ => None,
        }
    }
}

/// A connection's own credential settings (`<connection>__credential`, `__clientId`,
/// `__tenantId`, `__clientSecret`). `Debug` hides the secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct IdentityOptions {
    /// `__credential`.
    pub credential: Option<CredentialKind>,
    /// `__clientId`.
    pub client_id: Option<String>,
    /// `__tenantId`.
    pub tenant_id: Option<String>,
    /// `__clientSecret`.
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for IdentityOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityOptions")
            .field("credential", &self.credential)
            .field("client_id", &self.client_id)
            .field("tenant_id", &self.tenant_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The credential for `connection` (the setting name, for errors) from its `options` and the
/// environment as seen through `env` (a variable's value; empty counts as unset).
pub fn select(
    connection: &str,
    options: &IdentityOptions,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<TokenCredential, String> {
    let var = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let client_id = options.client_id.clone().or_else(|| var("AZURE_CLIENT_ID"));
    let tenant_id = options.tenant_id.clone().or_else(|| var("AZURE_TENANT_ID"));
    let secret = options
        .client_secret
        .clone()
        .or_else(|| var("AZURE_CLIENT_SECRET"));
    let token_file = var("AZURE_FEDERATED_TOKEN_FILE");
    let need = |what: &str, setting: &str, variable: &str| {
        format!(
            "{what} is needed: set {connection}__{setting} or the environment variable {variable}"
        )
    };
    let kind = match options.credential {
        Some(kind) => kind,
        None if options.client_secret.is_some()
            || (tenant_id.is_some() && client_id.is_some() && secret.is_some()) =>
        {
            CredentialKind::ClientSecret
        }
        None if token_file.is_some() && client_id.is_some() && tenant_id.is_some() => {
            CredentialKind::WorkloadIdentity
        }
        None => CredentialKind::ManagedIdentity,
    };
    match kind {
        CredentialKind::ClientSecret => Ok(TokenCredential::ClientSecret {
            authority_host: authority_host(var("AZURE_AUTHORITY_HOST"))?,
            tenant_id: tenant(tenant_id.ok_or_else(|| {
                need(
                    "for a client secret a tenant id",
                    "tenantId",
                    "AZURE_TENANT_ID",
                )
            })?)?,
            client_id: client_id.ok_or_else(|| {
                need(
                    "for a client secret a client id",
                    "clientId",
                    "AZURE_CLIENT_ID",
                )
            })?,
            client_secret: secret
                .ok_or_else(|| need("a client secret", "clientSecret", "AZURE_CLIENT_SECRET"))?,
        }),
        CredentialKind::WorkloadIdentity => Ok(TokenCredential::WorkloadIdentity {
            authority_host: authority_host(var("AZURE_AUTHORITY_HOST"))?,
            tenant_id: tenant(tenant_id.ok_or_else(|| {
                need(
                    "for workload identity a tenant id",
                    "tenantId",
                    "AZURE_TENANT_ID",
                )
            })?)?,
            client_id: client_id.ok_or_else(|| {
                need(
                    "for workload identity a client id",
                    "clientId",
                    "AZURE_CLIENT_ID",
                )
            })?,
            token_file: PathBuf::from(token_file.ok_or(
                "workload identity needs the environment variable AZURE_FEDERATED_TOKEN_FILE \
                 (set by the AKS workload identity webhook)",
            )?),
        }),
        CredentialKind::ManagedIdentity => {
            let source = match (var("IDENTITY_ENDPOINT"), var("IDENTITY_HEADER")) {
                (Some(endpoint), Some(header)) => ManagedIdentitySource::AppService {
                    endpoint: url("IDENTITY_ENDPOINT", &endpoint)?,
                    header,
                },
                _ => ManagedIdentitySource::Imds {
                    endpoint: match var("AZURE_POD_IDENTITY_AUTHORITY_HOST") {
                        Some(host) => format!(
                            "{}/metadata/identity/oauth2/token",
                            url("AZURE_POD_IDENTITY_AUTHORITY_HOST", &host)?
                        ),
                        None => IMDS_ENDPOINT.to_owned(),
                    },
                },
            };
            // An explicit `managedidentity` without `__clientId` means the system-assigned
            // identity; the default chain also takes AZURE_CLIENT_ID, as Azure's does.
            let client_id = match options.credential {
                Some(_) => options.client_id.clone(),
                None => client_id,
            };
            Ok(TokenCredential::ManagedIdentity { source, client_id })
        }
    }
}

fn authority_host(value: Option<String>) -> Result<String, String> {
    match value {
        Some(host) => url("AZURE_AUTHORITY_HOST", &host),
        None => Ok(DEFAULT_AUTHORITY_HOST.to_owned()),
    }
}

/// `value` without a trailing `/`, if it is an `https` URL or an `http` URL of a loopback host.
fn url(variable: &str, value: &str) -> Result<String, String> {
    let value = value.trim().trim_end_matches('/');
    let bad = |why: &str| format!("{variable} = `{value}` {why}");
    let (scheme, rest) = value.split_once("://").ok_or_else(|| bad("is not a URL"))?;
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    if host.is_empty() {
        return Err(bad("has no host"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(value.to_owned()),
        "http" if matches!(host, "localhost" | "[::1]") || host.starts_with("127.") => {
            Ok(value.to_owned())
        }
        "http" if host == "169.254.169.254" && variable != "AZURE_AUTHORITY_HOST" => {
            Ok(value.to_owned())
        }
        "http" => Err(bad("must use https (plain http only for a loopback host)")),
        _ => Err(bad("must be an https URL")),
    }
}

fn tenant(id: String) -> Result<String, String> {
    if !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'))
    {
        Ok(id)
    } else {
        Err(format!(
            "the tenant id `{id}` is not a directory id or domain name"
        ))
    }
}

#[cfg(test)]
#[path = "select_tests.rs"]
mod tests;
