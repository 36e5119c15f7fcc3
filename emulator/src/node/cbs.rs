//! `$cbs` put-token: which audiences a connection may use (invariant 3).
//!
//! With SAS rules configured, a `SharedAccessSignature …` token must verify against them
//! (whatever the request's `type`: Python sends SAS tokens as `jwt`) (see [`crate::sas`]) and cover the audience it is put for; entity and `$management`
//! links then need a covering audience. Without rules the broker runs in development mode like
//! the official emulator: any token (SAS or `jwt`) is accepted and every link is allowed.
//!
//! With development JWTs on ([`Authorizations::with_dev_jwt`]), a token shaped like a JWT
//! (Entra ID, put by identity-based connections) is checked by [`super::dev_jwt::check`]
//! (audience and expiry, **no signature**) with or without rules, and authorises the
//! audience it is put for.

use std::sync::Arc;
use std::time::SystemTime;

use super::dev_jwt;
use super::request::{Request, Status};
use crate::sas::{self, SasRule};

/// What a put-token request led to.
#[derive(Debug, Clone, PartialEq)]
pub struct PutTokenOutcome {
    /// The reply's status (202 on success).
    pub status: Status,
    /// The token was refused: close the connection after the reply, as Service Bus does.
    pub close: bool,
}

/// The audiences one connection has authorised.
#[derive(Debug, Clone)]
pub struct Authorizations {
    rules: Arc<[SasRule]>,
    dev_jwt: bool,
    audiences: Vec<String>,
}

impl Authorizations {
    /// No audience yet; `rules` empty means development mode (everything allowed).
    pub fn new(rules: Arc<[SasRule]>) -> Self {
        Self {
            rules,
            dev_jwt: false,
            audiences: Vec::new(),
        }
    }

    /// Checks JWT-shaped tokens as development JWTs (see the module docs) when `on`.
    pub fn with_dev_jwt(mut self, on: bool) -> Self {
        self.dev_jwt = on;
        self
    }

    /// Whether tokens are checked at all.
    pub fn enforced(&self) -> bool {
        !self.rules.is_empty()
    }

    /// Handles one `$cbs` request.
    pub fn put_token(&mut self, request: &Request, now: SystemTime) -> PutTokenOutcome {
        match request.property("operation") {
            Some("put-token") => {}
            other => {
                let text = format!(
                    "The operation '{}' is not supported by $cbs.",
                    other.unwrap_or("")
                );
                return PutTokenOutcome {
                    status: Status::error(400, "amqp:not-implemented", text),
                    close: false,
                };
            }
        }
        let audience = request.property("name").unwrap_or_default().to_owned();
        let token = match &request.body {
            fe2o3_amqp_types::primitives::Value::String(token) => Some(token.as_str()),
            _ => None,
        };
        if let Some(token) = token.filter(|t| self.dev_jwt && dev_jwt::looks_like_jwt(t)) {
            return match dev_jwt::check(token, now) {
                Ok(jwt) => {
                    tracing::debug!(audience, subject = ?jwt.subject, expires_at = jwt.expires_at, "development jwt accepted (signature not verified)");
                    self.authorise(audience);
                    accepted()
                }
                Err(error) => refused(&error.to_string()),
            };
        }
        if !self.enforced() {
            self.authorise(audience);
            return accepted();
        }
        let Some(token) = token else {
            return refused("InvalidToken: the put-token body must be the token string.");
        };
        // The `type` is not trusted: Python's pyamqp transport sends SAS tokens as `jwt`.
        if !token.trim_start().starts_with("SharedAccessSignature") {
            let text = if self.dev_jwt {
                "InvalidToken: neither a SAS token (SharedAccessSignature sr=…) nor a JWT."
            } else {
                "InvalidToken: this broker verifies SAS tokens only (SharedAccessSignature sr=…); development JWTs are off."
            };
            return refused(text);
        }
        match sas::verify(token, &audience, &self.rules, now) {
            Ok(_) => {
                self.authorise(audience);
                accepted()
            }
            Err(error) => refused(&error.to_string()),
        }
    }

    /// Remembers an audience once (tokens are re-put every ~45 minutes per link).
    fn authorise(&mut self, audience: String) {
        if !self.audiences.contains(&audience) {
            self.audiences.push(audience);
        }
    }

    /// Whether an entity (or its `$management` node) at `path` may be used.
    pub fn allows(&self, path: &str) -> bool {
        !self.enforced()
            || self
                .audiences
                .iter()
                .any(|audience| sas::resource_covers(audience, path))
    }
}

fn accepted() -> PutTokenOutcome {
    PutTokenOutcome {
        status: Status::ok(202, "Accepted"),
        close: false,
    }
}

fn refused(description: &str) -> PutTokenOutcome {
    PutTokenOutcome {
        status: Status::error(401, "amqp:unauthorized-access", description),
        close: true,
    }
}

/// The text links get when no token covers their entity.
pub fn unauthorized_text(path: &str) -> String {
    format!("Unauthorized access to '{path}': put a valid SAS token for it on $cbs first.")
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use fe2o3_amqp_types::primitives::{OrderedMap, SimpleValue, Value};

    use super::*;

    fn put(audience: &str, kind: &str, token: &str) -> Request {
        let mut properties = OrderedMap::new();
        properties.insert(
            "operation".to_owned(),
            SimpleValue::String("put-token".into()),
        );
        properties.insert("type".to_owned(), SimpleValue::String(kind.into()));
        properties.insert("name".to_owned(), SimpleValue::String(audience.into()));
        Request {
            message_id: None,
            reply_to: None,
            properties,
            body: Value::String(token.into()),
        }
    }

    fn token(resource: &str, key: &str) -> String {
        let sig = sas::sign(key, resource, "4102444800")
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        format!("SharedAccessSignature sr={resource}&sig={sig}&se=4102444800&skn=root")
    }

    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_900_000_000)
    }

    fn enforced() -> Authorizations {
        Authorizations::new(Arc::from(vec![SasRule::new("root", "key")]))
    }

    #[test]
    fn valid_token_is_accepted_with_202_and_authorises_its_entity() {
        let mut auth = enforced();
        assert!(!auth.allows("q"));
        let outcome = auth.put_token(
            &put(
                "sb://h/q",
                "servicebus.windows.net:sastoken",
                &token("sb%3A%2F%2Fh%2Fq", "key"),
            ),
            now(),
        );
        assert_eq!(outcome, accepted());
        assert!(auth.allows("q") && auth.allows("Q/$management"));
        assert!(!auth.allows("other"));
    }

    #[test]
    fn wrong_key_is_refused_with_401_and_closes() {
        let mut auth = enforced();
        let outcome = auth.put_token(
            &put(
                "sb://h/q",
                "servicebus.windows.net:sastoken",
                &token("sb%3A%2F%2Fh%2Fq", "wrong"),
            ),
            now(),
        );
        assert_eq!(outcome.status.code, 401);
        assert_eq!(
            outcome.status.condition.as_deref(),
            Some("amqp:unauthorized-access")
        );
        assert!(outcome.close);
        assert!(!auth.allows("q"));
    }

    #[test]
    fn sas_token_sent_with_type_jwt_is_verified_as_sas() {
        let mut auth = enforced();
        let outcome = auth.put_token(
            &put("sb://h/q", "jwt", &token("sb%3A%2F%2Fh%2Fq", "key")),
            now(),
        );
        assert_eq!(outcome, accepted());
    }

    #[test]
    fn jwt_is_refused_when_keys_are_configured_but_accepted_in_dev_mode() {
        assert_eq!(
            enforced()
                .put_token(&put("sb://h/q", "jwt", "eyJ..."), now())
                .status
                .code,
            401
        );
        let mut dev = Authorizations::new(Arc::from(Vec::new()));
        assert_eq!(
            dev.put_token(&put("sb://h/q", "jwt", "eyJ..."), now()),
            accepted()
        );
        assert!(dev.allows("anything"));
    }

    #[test]
    fn dev_jwts_authorise_their_audience_and_bad_ones_get_401() {
        let claims = |aud: &str, exp: u64| serde_json::json!({"aud": aud, "exp": exp});
        let good = dev_jwt::unsigned(&claims("https://servicebus.azure.net", 1_900_000_060));
        let mut auth = enforced().with_dev_jwt(true);
        assert_eq!(
            auth.put_token(&put("sb://h/q", "jwt", &good), now()),
            accepted()
        );
        assert!(auth.allows("q") && !auth.allows("other"));
        let sas = token("sb%3A%2F%2Fh%2Fother", "key");
        assert_eq!(
            auth.put_token(&put("sb://h/other", "jwt", &sas), now()),
            accepted()
        );

        let expired = dev_jwt::unsigned(&claims("https://servicebus.azure.net", 1_899_999_999));
        let wrong_aud = dev_jwt::unsigned(&claims("https://vault.azure.net", 1_900_000_060));
        for (token, text) in [
            (expired, "ExpiredToken"),
            (wrong_aud, "InvalidAudience"),
            ("a.b.c".to_owned(), "malformed"),
        ] {
            let mut dev = Authorizations::new(Arc::from(Vec::new())).with_dev_jwt(true);
            let outcome = dev.put_token(&put("sb://h/q", "jwt", &token), now());
            assert_eq!(outcome.status.code, 401);
            assert!(outcome.close);
            assert!(
                outcome.status.description.contains(text),
                "{:?}",
                outcome.status
            );
        }
    }

    #[test]
    fn other_operations_are_not_implemented() {
        let mut request = put("a", "servicebus.windows.net:sastoken", "t");
        request.properties.insert(
            "operation".to_owned(),
            SimpleValue::String("delete-token".into()),
        );
        let outcome = enforced().put_token(&request, now());
        assert_eq!(outcome.status.code, 400);
        assert!(!outcome.close);
    }
}
