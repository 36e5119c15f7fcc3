//! `$cbs` put-token: which audiences a connection may use (invariant 3).
//!
//! With SAS rules configured, a `SharedAccessSignature …` token must verify against them
//! (whatever the request's `type`: Python sends SAS tokens as `jwt`) (see [`crate::sas`]) and
//! cover the audience it is put for. The connection then holds a grant for that audience: the
//! signing rule's [`Rights`] until the token's expiry. Each operation needs a covering grant
//! with its claim ([`Authorizations::check`], as Azure checks claims at attach and per
//! `$management` operation, not at put-token); a fresh token for the same audience replaces
//! the grant, and links whose grant expires are detached (the node's `guard` module). Without rules
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
#[path = "cbs_tests.rs"]
#[allow(clippy::unwrap_used)]
mod tests;
