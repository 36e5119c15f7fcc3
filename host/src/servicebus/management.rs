//! `<entity>/$management` operations (doc F.3): session lock renewal, session state, message
//! lock renewal, peek and `update-disposition`. Bodies are amqp-value maps with string keys;
//! responses carry `statusCode` (200, or 204 for "nothing").

use std::time::{Duration, SystemTime};

use berth::{ErrorKind, ServiceBusError, Settlement};
use bytes::Bytes;
use fe2o3_amqp_types::primitives::{Array, Binary, OrderedMap, SimpleValue, Uuid, Value};

use super::errors;
use super::peek::{self, PeekedMessage};
use super::request_link::{Request, RequestLink, Response};
use super::settle;
use super::ticks;

/// How long a management call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The management node of one entity on one connection.
#[derive(Clone)]
pub(crate) struct Management {
    link: RequestLink,
}

/// What a lost lock means for the operation (410 has no condition of its own).
#[derive(Clone, Copy)]
enum Lock {
    Session,
    Message,
}

impl Management {
    /// Wraps an open request link to `<entity>/$management`.
    pub fn new(link: RequestLink) -> Self {
        Management { link }
    }

    /// Whether the link pair has stopped (the connection is gone).
    pub fn is_closed(&self) -> bool {
        self.link.is_closed()
    }

    async fn call(
        &self,
        operation: &'static str,
        body: OrderedMap<Value, Value>,
        link_name: Option<&str>,
        lock: Lock,
    ) -> Result<Response, ServiceBusError> {
        let mut properties = vec![(
            "com.microsoft:server-timeout",
            SimpleValue::Uint((CALL_TIMEOUT.as_millis() as u32).saturating_sub(1000)),
        )];
        if let Some(name) = link_name {
            properties.push(("associated-link-name", SimpleValue::String(name.to_owned())));
        }
        let request = Request {
            operation,
            properties,
            body: Value::Map(body),
        };
        let response = self.link.call(request, CALL_TIMEOUT).await?;
        match response.status {
            200..=299 => Ok(response),
            _ => Err(failure(operation, &response, lock)),
        }
    }

    /// `com.microsoft:renew-session-lock`: the new expiry.
    pub async fn renew_session_lock(
        &self,
        session_id: &str,
        link_name: Option<&str>,
    ) -> Result<SystemTime, ServiceBusError> {
        let body = map([("session-id", Value::String(session_id.to_owned()))]);
        let response = self
            .call(
                "com.microsoft:renew-session-lock",
                body,
                link_name,
                Lock::Session,
            )
            .await?;
        response
            .get("expiration")
            .and_then(ticks::time_value)
            .ok_or_else(|| malformed("renew-session-lock", "expiration"))
    }

    /// `com.microsoft:get-session-state`: `None` when no state is set.
    pub async fn get_session_state(
        &self,
        session_id: &str,
        link_name: Option<&str>,
    ) -> Result<Option<Bytes>, ServiceBusError> {
        let body = map([("session-id", Value::String(session_id.to_owned()))]);
        let response = self
            .call(
                "com.microsoft:get-session-state",
                body,
                link_name,
                Lock::Session,
            )
            .await?;
        match response.get("session-state") {
            Some(Value::Binary(b)) => Ok(Some(Bytes::from(b.clone().into_vec()))),
            Some(Value::Null) | None => Ok(None),
            Some(_) => Err(malformed("get-session-state", "session-state")),
        }
    }

    /// `com.microsoft:set-session-state`; `None` clears the state.
    pub async fn set_session_state(
        &self,
        session_id: &str,
        state: Option<Bytes>,
        link_name: Option<&str>,
    ) -> Result<(), ServiceBusError> {
        let state = state.map_or(Value::Null, |s| Value::Binary(Binary::from(s.to_vec())));
        let body = map([
            ("session-id", Value::String(session_id.to_owned())),
            ("session-state", state),
        ]);
        self.call(
            "com.microsoft:set-session-state",
            body,
            link_name,
            Lock::Session,
        )
        .await
        .map(drop)
    }

    /// `com.microsoft:renew-lock` for non-session messages: the new expiries, in order.
    pub async fn renew_locks(
        &self,
        lock_tokens: &[[u8; 16]],
        link_name: Option<&str>,
    ) -> Result<Vec<SystemTime>, ServiceBusError> {
        let tokens = lock_tokens.iter().map(|t| Value::Uuid(Uuid::from(*t)));
        let body = map([("lock-tokens", Value::Array(tokens.collect()))]);
        let response = self
            .call("com.microsoft:renew-lock", body, link_name, Lock::Message)
            .await?;
        let values = match response.get("expirations") {
            Some(Value::Array(Array(items))) | Some(Value::List(items)) => items,
            _ => return Err(malformed("renew-lock", "expirations")),
        };
        values
            .iter()
            .map(|v| ticks::time_value(v).ok_or_else(|| malformed("renew-lock", "expirations")))
            .collect()
    }

    /// `com.microsoft:peek-message`: up to `count` messages from `from_sequence_number` on,
    /// without locking them (of one session when `session_id` is given).
    pub async fn peek(
        &self,
        from_sequence_number: i64,
        count: i32,
        session_id: Option<&str>,
    ) -> Result<Vec<PeekedMessage>, ServiceBusError> {
        let mut body = map([
            ("from-sequence-number", Value::Long(from_sequence_number)),
            ("message-count", Value::Int(count)),
        ]);
        if let Some(id) = session_id {
            body.insert(Value::String("session-id".into()), Value::String(id.into()));
        }
        let response = self
            .call("com.microsoft:peek-message", body, None, Lock::Session)
            .await?;
        if response.status == 204 {
            return Ok(Vec::new());
        }
        let items = match response.get("messages") {
            Some(Value::List(items)) | Some(Value::Array(Array(items))) => items,
            None => return Ok(Vec::new()),
            Some(_) => return Err(malformed("peek-message", "messages")),
        };
        items.iter().map(decode_peeked).collect()
    }

    /// `com.microsoft:update-disposition`: settles a message by lock token, waiting for the
    /// broker's verdict.
    pub async fn update_disposition(
        &self,
        settlement: &Settlement,
        lock_token: [u8; 16],
        session_id: Option<&str>,
    ) -> Result<(), ServiceBusError> {
        let body = settle::update_disposition_body(settlement, lock_token, session_id);
        let lock = if session_id.is_some() {
            Lock::Session
        } else {
            Lock::Message
        };
        self.call("com.microsoft:update-disposition", body, None, lock)
            .await
            .map(drop)
    }
}

fn map<const N: usize>(pairs: [(&str, Value); N]) -> OrderedMap<Value, Value> {
    pairs
        .into_iter()
        .map(|(k, v)| (Value::String(k.to_owned()), v))
        .collect()
}

fn malformed(operation: &str, field: &str) -> ServiceBusError {
    ServiceBusError::new(
        ErrorKind::Other,
        format!("the broker's {operation} response has no valid '{field}'"),
    )
}

fn failure(operation: &str, response: &Response, lock: Lock) -> ServiceBusError {
    let kind = match (&response.condition, response.status) {
        (Some(condition), _) if errors::kind_for_condition(condition) != ErrorKind::Other => {
            errors::kind_for_condition(condition)
        }
        (_, 410) => match lock {
            Lock::Session => ErrorKind::SessionLockLost,
            Lock::Message => ErrorKind::MessageLockLost,
        },
        (_, 404) => ErrorKind::NotFound,
        (_, 408) => ErrorKind::Timeout,
        _ => ErrorKind::Other,
    };
    ServiceBusError::new(
        kind,
        format!(
            "{operation} failed: {} {}{}",
            response.status,
            response.description,
            response
                .condition
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
    )
}

/// One entry of a peek response: a map whose `message` is a whole encoded AMQP message.
fn decode_peeked(item: &Value) -> Result<PeekedMessage, ServiceBusError> {
    let encoded = match item {
        Value::Map(m) => m.get(&Value::String("message".into())),
        _ => None,
    };
    let Some(Value::Binary(bytes)) = encoded else {
        return Err(malformed("peek-message", "messages[].message"));
    };
    peek::decode(bytes)
}
