//! [`TokenProvider`]: one credential's token, cached until its refresh point
//! ([`AccessToken::refresh_at`]) and fetched again after that; concurrent callers share one
//! request. Transient failures (network, 429, 5xx) are retried twice with a growing pause;
//! every failure is logged with the credential's name, never its secret.

use std::time::{Duration, SystemTime};

use tracing::{debug, warn};

use super::{AccessToken, CredentialError, TokenCredential};
use crate::servicebus::trust::TlsTrust;

/// Pauses before the second and third attempt of one fetch.
const RETRY_PAUSES: [Duration; 2] = [Duration::from_millis(500), Duration::from_secs(2)];

/// A credential and its cached token. Share it (`Arc`) across reconnects.
#[derive(Debug)]
pub struct TokenProvider {
    credential: TokenCredential,
    cached: tokio::sync::Mutex<Option<AccessToken>>,
    trust: TlsTrust,
}

impl TokenProvider {
    /// A provider with no token yet; its HTTPS requests trust the web roots.
    pub fn new(credential: TokenCredential) -> Self {
        TokenProvider {
            credential,
            cached: tokio::sync::Mutex::new(None),
            trust: TlsTrust::default(),
        }
    }

    /// This provider with its HTTPS requests trusting `trust` (the client's CAs).
    pub fn trusting(self, trust: TlsTrust) -> Self {
        TokenProvider { trust, ..self }
    }

    /// The credential.
    pub fn credential(&self) -> &TokenCredential {
        &self.credential
    }

    /// A token that is not yet due for refresh: the cached one, else a new one.
    pub async fn token(&self) -> Result<AccessToken, CredentialError> {
        let mut cached = self.cached.lock().await;
        if let Some(token) = cached
            .as_ref()
            .filter(|t| SystemTime::now() < t.refresh_at())
        {
            return Ok(token.clone());
        }
        let token = self.fetch().await?;
        *cached = Some(token.clone());
        Ok(token)
    }

    async fn fetch(&self) -> Result<AccessToken, CredentialError> {
        let name = self.credential.name();
        let mut pauses = RETRY_PAUSES.iter();
        loop {
            match self.credential.fetch(&self.trust).await {
                Ok(token) => {
                    let expires_in_s = token
                        .expires_on()
                        .duration_since(SystemTime::now())
                        .map(|d| d.as_secs())
                        .unwrap_or(0);
                    debug!(credential = name, expires_in_s, "token obtained");
                    return Ok(token);
                }
                Err(e) => match pauses.next().filter(|_| e.transient) {
                    Some(pause) => {
                        warn!(credential = name, error = %e.message, retry_in_ms = pause.as_millis() as u64, "getting a token failed; retrying");
                        tokio::time::sleep(*pause).await;
                    }
                    None => {
                        warn!(credential = name, error = %e.message, "getting a token failed");
                        return Err(e);
                    }
                },
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::super::ManagedIdentitySource;
    use super::*;

    #[test]
    fn refresh_point_is_five_minutes_before_expiry_or_half_way() {
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(
            AccessToken::new("t".into(), at(0), at(3600)).refresh_at(),
            at(3300)
        );
        assert_eq!(
            AccessToken::new("t".into(), at(100), at(120)).refresh_at(),
            at(110)
        );
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_a_clear_error_naming_the_credential() {
        // A port that was just free: connecting is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}/msi/token");
        let provider = TokenProvider::new(TokenCredential::ManagedIdentity {
            source: ManagedIdentitySource::AppService {
                endpoint: endpoint.clone(),
                header: "secret-header".into(),
            },
            client_id: None,
        });
        let err = provider.token().await.unwrap_err();
        assert_eq!(err.credential, "ManagedIdentityCredential (App Service)");
        assert!(err.transient);
        let text = err.to_string();
        assert!(text.contains(&endpoint), "{text}");
        assert!(!text.contains("secret-header"), "{text}");
    }
}
