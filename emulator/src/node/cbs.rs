//! `$cbs` put-token: which audiences a connection may use (invariant 3).
//!
//! With SAS rules configured, a `SharedAccessSignature …` token must verify against them
//! (whatever the request's `type`: Python sends SAS tokens as `jwt`) (see [`crate::sas`]) and
//! cover the audience it is put for. The connection then holds a grant for that audience: the
//! signing rule's [`Rights`] until the token's expiry. Each operation needs a covering grant
//! with its claim ([`Authorizations::check`], as Azure checks claims at attach and per
//! `$management` operation, not at put-token); a fresh token for the same audience replaces
//! the grant, and links whose grant expires are detached ([`super::guard`]). Without rules
//! the broker runs in development mode like the official emulator: any token (SAS or `jwt`)
//! is accepted and everything is allowed.
//!
//! With development JWTs on ([`Authorizations::with_dev_jwt`]), a token shaped like a JWT
//! (Entra ID, put by identity-based connections) is checked by [`super::dev_jwt::check`]
//! (audience and expiry, **no signature**) with or without rules, and authorises the
//! audience it is put for with every right until its `exp` (Azure assigns data roles outside
//! the token, so there is nothing in it to map to Listen/Send/Manage).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::dev_jwt;
use super::request::{Request, Status};
use crate::rights::{Right, Rights};
use crate::sas::{self, SasRule};

/// What a put-token request led to.
#[derive(Debug, Clone, PartialEq)]
pub struct PutTokenOutcome {
    /// The reply's status (202 on success).
    pub status: Status,
    /// The token was refused: close the connection after the reply, as Service Bus does.
    pub close: bool,
}

/// One audience authorised on a connection: what its token allows and until when.
#[derive(Debug, Clone)]
struct Grant {
    audience: String,
    rights: Rights,
    /// Unix seconds; the grant is void from then on.
    expires_at: u64,
}

/// The audiences one connection has authorised.
#[derive(Debug, Clone)]
pub struct Authorizations {
    rules: Arc<[SasRule]>,
    dev_jwt: bool,
    grants: Vec<Grant>,
}

impl Authorizations {
    /// No audience yet; `rules` empty means development mode (everything allowed).
    pub fn new(rules: Arc<[SasRule]>) -> Self {
        Self {
            rules,
            dev_jwt: false,
            grants: Vec::new(),
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
                    // Azure assigns roles outside the token; a development JWT gets every right.
                    self.authorise(audience, Rights::ALL, jwt.expires_at);
                    accepted()
                }
                Err(error) => refused(&error.to_string()),
            };
        }
        if !self.enforced() {
            self.authorise(audience, Rights::ALL, u64::MAX);
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
        match sas::verify_rule(token, &audience, &self.rules, now) {
            Ok((rule, expires_at)) => {
                let rights = rule.rights;
                self.authorise(audience, rights, expires_at);
                accepted()
            }
            Err(error) => refused(&error.to_string()),
        }
    }

    /// Records a grant; a fresh token for an audience replaces the previous one (clients
    /// re-put tokens before they expire).
    fn authorise(&mut self, audience: String, rights: Rights, expires_at: u64) {
        let grant = Grant {
            audience,
            rights,
            expires_at,
        };
        match self
            .grants
            .iter_mut()
            .find(|g| g.audience == grant.audience)
        {
            Some(existing) => *existing = grant,
            None => self.grants.push(grant),
        }
    }

    /// Whether the entity (or `$management` node) at `path` may be used for `right` (`None`:
    /// any right) at `now`; the error is the Azure-style refusal text.
    pub fn check(&self, path: &str, right: Option<Right>, now: SystemTime) -> Result<(), Denied> {
        if !self.enforced() {
            return Ok(());
        }
        let now = unix_seconds(now);
        let covering = || {
            self.grants
                .iter()
                .filter(|g| sas::resource_covers(&g.audience, path))
        };
        let allows = |g: &Grant| right.is_none_or(|r| g.rights.allows(r));
        if covering().any(|g| g.expires_at > now && allows(g)) {
            return Ok(());
        }
        let resource = covering().next().map_or(path, |g| g.audience.as_str());
        let expired_at = covering().filter(|g| allows(g)).map(|g| g.expires_at).max();
        Err(Denied {
            right,
            resource: resource.to_owned(),
            expired_at,
        })
    }

    /// Whether a grant ran out after `after` and at or before `until` (Unix seconds): only
    /// then can a link that was authorised have lost its authorisation.
    pub fn expired_between(&self, after: u64, until: u64) -> bool {
        self.enforced()
            && self
                .grants
                .iter()
                .any(|g| g.expires_at > after && g.expires_at <= until)
    }

    /// When the first grant still in force runs out (for the expiry watch).
    pub fn next_expiry(&self, now: SystemTime) -> Option<SystemTime> {
        if !self.enforced() {
            return None;
        }
        let now = unix_seconds(now);
        self.grants
            .iter()
            .map(|g| g.expires_at)
            .filter(|e| *e > now && *e != u64::MAX)
            .min()
            .map(|secs| UNIX_EPOCH + Duration::from_secs(secs))
    }
}

/// A refused operation: which claim was missing on which resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    /// The claim the operation needs (`None`: any).
    pub right: Option<Right>,
    /// The token audience that covers the entity, or the entity path.
    pub resource: String,
    /// Set when a token that would have allowed it has expired (Unix seconds).
    pub expired_at: Option<u64>,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let claim = self.right.map_or("Listen' or 'Send", Right::name);
        if let Some(at) = self.expired_at {
            write!(
                f,
                "ExpiredToken: the token for '{}' expired at {at} (Unix seconds) and no fresh one was put on $cbs. ",
                self.resource
            )?;
        }
        write!(
            f,
            "Unauthorized access. '{claim}' claim(s) are required to perform this operation. Resource: '{}'.",
            self.resource
        )
    }
}

/// `at` in whole seconds since the Unix epoch (0 before it).
pub fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
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

#[cfg(test)]
mod tests {
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

    fn allows(auth: &Authorizations, path: &str) -> bool {
        auth.check(path, None, now()).is_ok()
    }

    fn enforced() -> Authorizations {
        Authorizations::new(Arc::from(vec![SasRule::new("root", "key")]))
    }

    #[test]
    fn valid_token_is_accepted_with_202_and_authorises_its_entity() {
        let mut auth = enforced();
        assert!(!allows(&auth, "q"));
        let outcome = auth.put_token(
            &put(
                "sb://h/q",
                "servicebus.windows.net:sastoken",
                &token("sb%3A%2F%2Fh%2Fq", "key"),
            ),
            now(),
        );
        assert_eq!(outcome, accepted());
        assert!(allows(&auth, "q") && allows(&auth, "Q/$management"));
        assert!(!allows(&auth, "other"));
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
        assert!(!allows(&auth, "q"));
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
        assert!(allows(&dev, "anything"));
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
        assert!(allows(&auth, "q") && !allows(&auth, "other"));
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
    fn rights_follow_the_signing_rule_and_claims_are_checked_per_operation() {
        let rules = vec![
            SasRule::new("root", "key"),
            SasRule::new("reader", "r-key").with_rights(Rights::parse("Listen").unwrap()),
        ];
        let mut auth = Authorizations::new(Arc::from(rules));
        let reader = token("sb%3A%2F%2Fh%2Fq", "r-key").replace("skn=root", "skn=reader");
        let put_reader = put("sb://h/q", "servicebus.windows.net:sastoken", &reader);
        assert_eq!(auth.put_token(&put_reader, now()), accepted());
        assert!(auth.check("q", Some(Right::Listen), now()).is_ok());
        assert!(auth.check("q/$management", None, now()).is_ok());
        let denied = auth.check("q", Some(Right::Send), now()).unwrap_err();
        let text = denied.to_string();
        assert!(
            text.contains("Unauthorized access. 'Send' claim(s) are required to perform this operation. Resource: 'sb://h/q'."),
            "{text}"
        );
        assert_eq!(denied.expired_at, None);
        // A fresh token from a rule with more rights replaces the grant.
        let root = put(
            "sb://h/q",
            "servicebus.windows.net:sastoken",
            &token("sb%3A%2F%2Fh%2Fq", "key"),
        );
        assert_eq!(auth.put_token(&root, now()), accepted());
        assert!(auth.check("q", Some(Right::Manage), now()).is_ok());
    }

    #[test]
    fn a_grant_ends_at_its_token_expiry_unless_a_fresh_token_is_put() {
        let mut auth = enforced();
        let soon = |se: u64| {
            let sig = sas::sign("key", "sb%3A%2F%2Fh%2Fq", &se.to_string())
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D");
            format!("SharedAccessSignature sr=sb%3A%2F%2Fh%2Fq&sig={sig}&se={se}&skn=root")
        };
        let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(secs);
        let first = put(
            "sb://h/q",
            "servicebus.windows.net:sastoken",
            &soon(1_900_000_010),
        );
        assert_eq!(auth.put_token(&first, now()), accepted());
        assert_eq!(auth.next_expiry(now()), Some(at(1_900_000_010)));
        assert!(auth
            .check("q", Some(Right::Send), at(1_900_000_009))
            .is_ok());
        let lapsed = auth
            .check("q", Some(Right::Send), at(1_900_000_010))
            .unwrap_err();
        assert_eq!(lapsed.expired_at, Some(1_900_000_010));
        assert!(lapsed.to_string().starts_with("ExpiredToken"), "{lapsed}");
        let fresh = put(
            "sb://h/q",
            "servicebus.windows.net:sastoken",
            &soon(1_900_000_100),
        );
        assert_eq!(auth.put_token(&fresh, at(1_900_000_005)), accepted());
        assert!(auth
            .check("q", Some(Right::Send), at(1_900_000_050))
            .is_ok());
        assert_eq!(auth.next_expiry(at(1_900_000_050)), Some(at(1_900_000_100)));
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
