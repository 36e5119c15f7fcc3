//! Token credentials for identity-based connections: Entra ID bearer tokens for the scope
//! `https://servicebus.azure.net/.default`, from a client secret, a workload identity
//! (federated token file, `client_assertion` grant) or a managed identity (App Service /
//! Container Apps `IDENTITY_ENDPOINT`, else the VM's IMDS), chosen from the environment the
//! way Azure's `DefaultAzureCredential` does ([`select`]). [`TokenProvider`] caches the
//! token and fetches a new one shortly before it expires.
//!
//! The three flows are a handful of HTTP requests, written here on hyper's client and rustls
//! (both already in the build) rather than with the `azure_identity` crate, whose HTTP stack
//! (reqwest, aws-lc) would double the host's dependency tree; see the README.

mod http;
mod provider;
mod select;
mod token_response;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::servicebus::trust::TlsTrust;

pub use provider::TokenProvider;
pub use select::{select, CredentialKind, IdentityOptions};

/// The OAuth 2.0 scope of Service Bus tokens (client secret and workload identity).
pub const SCOPE: &str = "https://servicebus.azure.net/.default";
/// The resource of Service Bus tokens (managed identity endpoints).
pub const RESOURCE: &str = "https://servicebus.azure.net";
/// Entra ID's public cloud authority, unless `AZURE_AUTHORITY_HOST` says otherwise.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";
/// The Azure Instance Metadata Service token endpoint.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
/// How long before its expiry a token is replaced (at most half its lifetime).
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(5 * 60);

/// A bearer token and its lifetime. `Debug` does not show the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    token: String,
    obtained_at: SystemTime,
    expires_on: SystemTime,
}

impl AccessToken {
    /// A token obtained at `obtained_at` and valid until `expires_on`.
    pub fn new(token: String, obtained_at: SystemTime, expires_on: SystemTime) -> Self {
        AccessToken {
            token,
            obtained_at,
            expires_on,
        }
    }

    /// The token itself.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// When it expires.
    pub fn expires_on(&self) -> SystemTime {
        self.expires_on
    }

    /// When to replace it: [`REFRESH_BEFORE_EXPIRY`] before it expires, or half-way through
    /// its lifetime for a token that lives less than twice that.
    pub fn refresh_at(&self) -> SystemTime {
        let lifetime = self
            .expires_on
            .duration_since(self.obtained_at)
            .unwrap_or_default();
        self.expires_on - REFRESH_BEFORE_EXPIRY.min(lifetime / 2)
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_on", &self.expires_on)
            .finish()
    }
}

/// Where a managed identity's tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManagedIdentitySource {
    /// App Service, Functions, Container Apps: `IDENTITY_ENDPOINT` with the `IDENTITY_HEADER`
    /// secret sent as `X-IDENTITY-HEADER`.
    AppService {
        /// `IDENTITY_ENDPOINT`.
        endpoint: String,
        /// `IDENTITY_HEADER` (a secret; not shown by `Debug` of [`TokenCredential`]).
        header: String,
    },
    /// A VM, VM scale set or AKS node: the IMDS endpoint (`Metadata: true`).
    Imds {
        /// [`IMDS_ENDPOINT`], or `AZURE_POD_IDENTITY_AUTHORITY_HOST` + its path.
        endpoint: String,
    },
}

/// A configured credential: what to ask whom for a token.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenCredential {
    /// An app registration's client secret (`client_credentials` grant).
    ClientSecret {
        /// `https://login.microsoftonline.com` or `AZURE_AUTHORITY_HOST`.
        authority_host: String,
        /// The directory (tenant) id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// The secret.
        client_secret: String,
    },
    /// Kubernetes workload identity: the federated token in a file is exchanged for an Entra
    /// ID token (`client_assertion` grant); the file is read anew for every request.
    WorkloadIdentity {
        /// `https://login.microsoftonline.com` or `AZURE_AUTHORITY_HOST`.
        authority_host: String,
        /// The directory (tenant) id.
        tenant_id: String,
        /// The application (client) id.
        client_id: String,
        /// `AZURE_FEDERATED_TOKEN_FILE`.
        token_file: PathBuf,
    },
    /// A system-assigned (no client id) or user-assigned managed identity.
    ManagedIdentity {
        /// The endpoint.
        source: ManagedIdentitySource,
        /// The user-assigned identity's client id.
        client_id: Option<String>,
    },
}

impl TokenCredential {
    /// The credential's name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            TokenCredential::ClientSecret { .. } => "ClientSecretCredential",
            TokenCredential::WorkloadIdentity { .. } => "WorkloadIdentityCredential",
            TokenCredential::ManagedIdentity {
                source: ManagedIdentitySource::AppService { .. },
                ..
            } => "ManagedIdentityCredential (App Service)",
            TokenCredential::ManagedIdentity {
                source: ManagedIdentitySource::Imds { .. },
                ..
            } => "ManagedIdentityCredential (IMDS)",
        }
    }

    /// Asks the endpoint once for a token; HTTPS trusts `trust`.
    pub(crate) async fn fetch(&self, trust: &TlsTrust) -> Result<AccessToken, CredentialError> {
        use super::sas::encode;
        let fail = |message: String, transient: bool| CredentialError {
            credential: self.name(),
            message,
            transient,
        };
        let (call, imds) = match self {
            TokenCredential::ClientSecret {
                authority_host,
                tenant_id,
                client_id,
                client_secret,
            } => {
                let form = format!(
                    "grant_type=client_credentials&client_id={}&client_secret={}&scope={}",
                    encode(client_id),
                    encode(client_secret),
                    encode(SCOPE)
                );
                (post(authority_host, tenant_id, form), false)
            }
            TokenCredential::WorkloadIdentity {
                authority_host,
                tenant_id,
                client_id,
                token_file,
            } => {
                let path = token_file.clone();
                let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(path))
                    .await
                    .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())));
                let assertion = read.map_err(|e| {
                    let file = token_file.display();
                    fail(
                        format!("reading the federated token file {file} failed: {e}"),
                        true,
                    )
                })?;
                let form = format!(
                    "grant_type=client_credentials&client_id={}&client_assertion_type={}&client_assertion={}&scope={}",
                    encode(client_id),
                    encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    encode(assertion.trim()),
                    encode(SCOPE)
                );
                (post(authority_host, tenant_id, form), false)
            }
            TokenCredential::ManagedIdentity { source, client_id } => {
                let client = client_id
                    .as_deref()
                    .map(|id| format!("&client_id={}", encode(id)))
                    .unwrap_or_default();
                let (endpoint, version, header) = match source {
                    ManagedIdentitySource::AppService { endpoint, header } => (
                        endpoint,
                        "2019-08-01",
                        ("x-identity-header", header.clone()),
                    ),
                    ManagedIdentitySource::Imds { endpoint } => {
                        (endpoint, "2018-02-01", ("metadata", "true".to_owned()))
                    }
                };
                let separator = if endpoint.contains('?') { '&' } else { '?' };
                let url = format!(
                    "{endpoint}{separator}api-version={version}&resource={}{client}",
                    encode(RESOURCE)
                );
                let call = Request {
                    method: hyper::Method::GET,
                    url,
                    headers: vec![header],
                    form: None,
                };
                (call, matches!(source, ManagedIdentitySource::Imds { .. }))
            }
        };
        let endpoint = call.url_without_query().to_owned();
        let response = http::send(http::Call {
            method: call.method,
            url: &call.url,
            headers: call.headers,
            form: call.form,
            trust,
        })
        .await
        .map_err(|e| fail(format!("{endpoint}: {e}"), true))?;
        if !(200..300).contains(&response.status) {
            // IMDS answers 404/410 while a new identity is being set up.
            let transient = response.status == 429
                || response.status >= 500
                || (imds && matches!(response.status, 404 | 410));
            let detail = token_response::describe_error(response.status, &response.body);
            return Err(fail(format!("{endpoint} refused: {detail}"), transient));
        }
        token_response::parse(&response.body, SystemTime::now())
            .map_err(|e| fail(format!("{endpoint}: {e}"), false))
    }
}

/// A request before it is sent.
struct Request {
    method: hyper::Method,
    url: String,
    headers: Vec<(&'static str, String)>,
    form: Option<String>,
}

impl Request {
    /// The URL without its query, for errors (a query may carry a client id, never a secret,
    /// but it is noise).
    fn url_without_query(&self) -> &str {
        self.url.split('?').next().unwrap_or_default()
    }
}

fn post(authority_host: &str, tenant_id: &str, form: String) -> Request {
    Request {
        method: hyper::Method::POST,
        url: format!("{authority_host}/{tenant_id}/oauth2/v2.0/token"),
        headers: Vec::new(),
        form: Some(form),
    }
}

impl fmt::Debug for TokenCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenCredential::ClientSecret {
                authority_host,
                tenant_id,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("authority_host", authority_host)
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("client_secret", &"<redacted>")
                .finish(),
            TokenCredential::WorkloadIdentity {
                authority_host,
                tenant_id,
                client_id,
                token_file,
            } => f
                .debug_struct("WorkloadIdentity")
                .field("authority_host", authority_host)
                .field("tenant_id", tenant_id)
                .field("client_id", client_id)
                .field("token_file", token_file)
                .finish(),
            TokenCredential::ManagedIdentity { source, client_id } => {
                let source = match source {
                    ManagedIdentitySource::AppService { endpoint, .. } => {
                        format!("AppService({endpoint})")
                    }
                    ManagedIdentitySource::Imds { endpoint } => format!("Imds({endpoint})"),
                };
                f.debug_struct("ManagedIdentity")
                    .field("source", &source)
                    .field("client_id", client_id)
                    .finish()
            }
        }
    }
}

/// A failed token request. The message names the endpoint and the reason, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialError {
    /// [`TokenCredential::name`].
    pub credential: &'static str,
    /// What went wrong.
    pub message: String,
    /// Whether trying again may help (network errors, 429, 5xx).
    pub transient: bool,
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} could not get a token: {}",
            self.credential, self.message
        )
    }
}

impl std::error::Error for CredentialError {}
