//! Where `$cbs` tokens come from: a shared access key (signed here), a ready-made shared
//! access signature, or a token credential (Entra ID bearer tokens, put as `jwt`).

use std::sync::Arc;
use std::time::SystemTime;

use berth::{ErrorKind, ServiceBusError};

use super::connection_string::Credential;
use super::credential::TokenProvider;
use super::sas::{self, TOKEN_LIFETIME};

/// How long before expiry a signed SAS token is replaced.
const SAS_REFRESH_BEFORE_EXPIRY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// A connection's token source.
#[derive(Debug, Clone)]
pub(crate) enum TokenSource {
    /// From the connection string.
    Sas(Credential),
    /// From a token credential (shared by every connection of a client, so its cached token
    /// outlives reconnects).
    Identity(Arc<TokenProvider>),
}

/// A token to put.
pub(crate) struct CbsToken {
    /// The token text.
    pub token: String,
    /// The put-token `type`.
    pub kind: &'static str,
    /// When it expires.
    pub expires_at: SystemTime,
    /// When to put a fresh one (`None`: it cannot be renewed).
    pub refresh_at: Option<SystemTime>,
}

impl TokenSource {
    /// The token for `audience` at `now`.
    pub async fn token(
        &self,
        audience: &str,
        now: SystemTime,
    ) -> Result<CbsToken, ServiceBusError> {
        match self {
            TokenSource::Sas(credential) => {
                let token = sas::token_for(credential, audience, now);
                if token.expires_at <= now {
                    return Err(ServiceBusError::new(
                        ErrorKind::Other,
                        format!(
                            "the SharedAccessSignature in the connection string expired at {:?}; put a fresh one in the connection string",
                            token.expires_at
                        ),
                    ));
                }
                let refresh_at = match credential {
                    Credential::Key { .. } => {
                        Some(now + TOKEN_LIFETIME - SAS_REFRESH_BEFORE_EXPIRY)
                    }
                    Credential::Signature { .. } => None,
                };
                Ok(CbsToken {
                    token: token.token,
                    kind: "servicebus.windows.net:sastoken",
                    expires_at: token.expires_at,
                    refresh_at,
                })
            }
            TokenSource::Identity(provider) => {
                let token = provider
                    .token()
                    .await
                    .map_err(|e| ServiceBusError::new(ErrorKind::Connection, e.to_string()))?;
                Ok(CbsToken {
                    token: token.secret().to_owned(),
                    kind: "jwt",
                    expires_at: token.expires_on(),
                    refresh_at: Some(token.refresh_at()),
                })
            }
        }
    }
}
