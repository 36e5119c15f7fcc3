//! Claims-based security: `put-token` on `$cbs` for every audience a link needs (an entity and
//! its `$management` node), refreshed well before the token expires.
//!
//! Tokens are per connection: a new connection starts with none and each link's first use
//! authorises its audience again. Signed tokens live one hour and are re-put after 45 minutes;
//! a `SharedAccessSignature` from the connection string cannot be renewed, so it is put once
//! and a warning is logged when it is about to expire. Entra ID tokens (identity-based
//! connections) are put as `jwt` and re-put at their refresh point (5 minutes before expiry).
//! A failed refresh is retried with a doubling pause (1 s to 30 s); the token on the broker
//! stays valid meanwhile.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, SystemTime};

use berth::{ErrorKind, ServiceBusError};
use fe2o3_amqp::session::SessionHandle;
use fe2o3_amqp_types::primitives::{SimpleValue, Value};
use tokio::sync::Notify;
use tracing::{debug, warn};

use super::request_link::{Request, RequestLink};
use super::ticks;
use super::token_source::TokenSource;

/// How long before expiry a token that cannot be renewed is warned about.
const WARN_BEFORE_EXPIRY: Duration = Duration::from_secs(15 * 60);
/// How long to wait for a `put-token` response.
const PUT_TIMEOUT: Duration = Duration::from_secs(60);
/// The first and the longest pause before retrying a failed refresh.
const RETRY_FIRST: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(30);

/// The `$cbs` link pair of one connection and the audiences authorised on it.
pub(crate) struct Cbs {
    link: RequestLink,
    tokens: TokenSource,
    /// Audience → when to put a fresh token (`None`: never, the token cannot be renewed).
    authorized: Mutex<HashMap<String, Option<SystemTime>>>,
    changed: Notify,
}

impl Cbs {
    /// Attaches the `$cbs` link pair on `session` and starts the refresher.
    pub async fn open(
        session: SessionHandle<()>,
        tokens: TokenSource,
        name: &str,
    ) -> Result<Arc<Cbs>, ServiceBusError> {
        let link = RequestLink::open(session, "$cbs", name).await?;
        let cbs = Arc::new(Cbs {
            link,
            tokens,
            authorized: Mutex::new(HashMap::new()),
            changed: Notify::new(),
        });
        tokio::spawn(refresh(Arc::downgrade(&cbs)));
        Ok(cbs)
    }

    /// The request link, whose closing means the connection is gone.
    pub fn link(&self) -> &RequestLink {
        &self.link
    }

    /// Authorises `audience` unless it already is on this connection.
    pub async fn authorize(&self, audience: &str) -> Result<(), ServiceBusError> {
        if self.lock().contains_key(audience) {
            return Ok(());
        }
        self.put(audience).await
    }

    async fn put(&self, audience: &str) -> Result<(), ServiceBusError> {
        let now = SystemTime::now();
        let token = self.tokens.token(audience, now).await?;
        let request = Request {
            operation: "put-token",
            properties: vec![
                ("type", SimpleValue::String(token.kind.into())),
                ("name", SimpleValue::String(audience.to_owned())),
                (
                    "expiration",
                    SimpleValue::Timestamp(ticks::to_timestamp(token.expires_at)),
                ),
            ],
            body: Value::String(token.token),
        };
        let response = self.link.call(request, PUT_TIMEOUT).await?;
        if !(200..300).contains(&response.status) {
            let kind = match response.status {
                404 => ErrorKind::NotFound,
                _ => ErrorKind::Other,
            };
            return Err(ServiceBusError::new(
                kind,
                format!(
                    "the broker refused the token for {audience}: {} {}",
                    response.status, response.description
                ),
            ));
        }
        let refresh_at = token.refresh_at;
        if refresh_at.is_none() {
            let left = token.expires_at.duration_since(now).unwrap_or_default();
            if left < WARN_BEFORE_EXPIRY {
                warn!(
                    audience,
                    expires_in_s = left.as_secs(),
                    "the connection string's SharedAccessSignature expires soon and cannot be renewed"
                );
            }
        }
        self.lock().insert(audience.to_owned(), refresh_at);
        self.changed.notify_one();
        debug!(audience, kind = token.kind, "token put");
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Option<SystemTime>>> {
        self.authorized
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The audiences due for a fresh token at `now`, and when the next one falls due.
    fn due(&self, now: SystemTime) -> (Vec<String>, Option<SystemTime>) {
        let map = self.lock();
        let due = map
            .iter()
            .filter(|(_, at)| matches!(at, Some(at) if *at <= now))
            .map(|(audience, _)| audience.clone())
            .collect();
        let next = map
            .values()
            .flatten()
            .filter(|at| **at > now)
            .min()
            .copied();
        (due, next)
    }
}

/// Re-puts tokens as they fall due, until the `$cbs` link closes (the connection is gone).
async fn refresh(cbs: Weak<Cbs>) {
    let mut failures = 0u32;
    loop {
        let Some(strong) = cbs.upgrade() else { return };
        if strong.link.is_closed() {
            return;
        }
        let (due, _) = strong.due(SystemTime::now());
        for audience in due {
            match strong.put(&audience).await {
                Ok(()) => failures = 0,
                Err(e) => {
                    let pause = RETRY_FIRST
                        .saturating_mul(1 << failures.min(5))
                        .min(RETRY_MAX);
                    failures = failures.saturating_add(1);
                    warn!(audience, error = %e, retry_in_ms = pause.as_millis() as u64, "refreshing a token failed; retrying");
                    strong
                        .lock()
                        .insert(audience, Some(SystemTime::now() + pause));
                }
            }
        }
        let now = SystemTime::now();
        let (_, next) = strong.due(now);
        let wait = next
            .and_then(|at| at.duration_since(now).ok())
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = strong.changed.notified() => {}
            _ = strong.link.closed() => return,
            _ = tokio::time::sleep(wait) => {}
        }
    }
}
