//! Who may use the admin API: anyone when the broker has no SAS rule (it then only listens
//! on loopback unless the embedder allowed anonymous access); otherwise a request needs an
//! `Authorization: SharedAccessSignature sr=…&sig=…&se=…&skn=…` header whose token verifies
//! against a rule with the Manage right and covers the entity the request concerns (a
//! namespace token, `sr=sb://host/`, covers all). `GET /health` stays open.

use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, WWW_AUTHENTICATE};
use hyper::{Method, Response};

use super::routes;
use crate::entity::LockToken;
use crate::rights::Right;
use crate::sas::{self, SasRule};

/// What the admin API requires; [`crate::broker::RunningBroker::admin_access`] gives the
/// broker's.
#[derive(Clone, Default)]
pub struct AdminAccess {
    /// The SAS rules; empty: no authentication (loopback only, unless `allow_anonymous`).
    pub rules: Arc<[SasRule]>,
    /// Serve without rules on a non-loopback address too (logged as a warning).
    pub allow_anonymous: bool,
}

impl std::fmt::Debug for AdminAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminAccess")
            .field("rules", &self.rules)
            .field("allow_anonymous", &self.allow_anonymous)
            .finish()
    }
}

impl AdminAccess {
    /// Why anyone may use the API (`None`: a Manage token is needed).
    pub(super) fn open_reason(&self) -> Option<&'static str> {
        self.rules
            .is_empty()
            .then_some("without SAS rules (no authentication)")
    }

    /// `Ok` when the request may go ahead; otherwise why not (answer with [`unauthorized`]).
    pub(super) fn authorise(
        &self,
        method: &Method,
        segments: &[&str],
        headers: &HeaderMap,
        now: SystemTime,
    ) -> Result<(), String> {
        if self.rules.is_empty() || (method == Method::GET && segments == ["health"]) {
            return Ok(());
        }
        let resource = resource_of(segments);
        let Some(token) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return Err(format!(
                "Unauthorized access: the admin API needs an 'Authorization: SharedAccessSignature sr=…&sig=…&se=…&skn=…' header signed by a rule with the 'Manage' right. Resource: '/{resource}'."
            ));
        };
        let (rule, _) =
            sas::verify_rule(token, &resource, &self.rules, now).map_err(|e| e.to_string())?;
        if !rule.rights.allows(Right::Manage) {
            return Err(format!(
                "Unauthorized access. 'Manage' claim(s) are required to perform this operation. Resource: '/{resource}'."
            ));
        }
        Ok(())
    }
}

/// The entity path a request concerns; empty for the namespace (`GET /entities`).
fn resource_of(segments: &[&str]) -> String {
    match segments {
        ["queues" | "topics", name] => (*name).to_owned(),
        ["topics", topic, "subscriptions", name] => format!("{topic}/Subscriptions/{name}"),
        ["entities", rest @ ..] => rest.join("/"),
        _ => String::new(),
    }
}

/// The 401 answer: `{"error": text + tracking id, "condition": "amqp:unauthorized-access"}`.
pub(super) fn unauthorized(text: &str) -> Response<Full<Bytes>> {
    let text = format!("{text} TrackingId:{}", LockToken::random());
    let mut response = routes::error_response(401, &text, "amqp:unauthorized-access");
    response.headers_mut().insert(
        WWW_AUTHENTICATE,
        HeaderValue::from_static("SharedAccessSignature"),
    );
    response
}
