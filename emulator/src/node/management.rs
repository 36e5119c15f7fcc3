//! `<entity>/$management` requests (invariant 5): reading the request body's typed fields,
//! running the operation ([`super::management_ops`]) and replying with `statusCode` always,
//! `errorCondition` on failure, and an amqp-value map body.

use std::collections::HashMap;
use std::time::SystemTime;

use bytes::Bytes;
use fe2o3_amqp_types::primitives::{Timestamp, Value};

use super::management_ops;
use super::outgoing::ReceiverLink;
use super::request::{Request, Status};
use super::{errors, request, Action, NodeHandler};
use crate::amqp::{Context, LinkId};
use crate::entity::{EntityError, LockToken, SessionLock};
use crate::rights::Right;
use crate::store::Commit;

/// A successful operation's reply, and the commit to await before sending it.
pub(super) struct Answer {
    pub status: Status,
    pub body: Value,
    pub commit: Option<Commit>,
}

impl Answer {
    /// 200 with `body`.
    pub fn ok(body: Value) -> Self {
        Self {
            status: Status::ok(200, "OK"),
            body,
            commit: None,
        }
    }

    /// 204: nothing to return.
    pub fn none(description: &str) -> Self {
        Self {
            status: Status::ok(204, description),
            body: Value::Null,
            commit: None,
        }
    }

    /// The same answer, sent once `commit` is durable (it shows state a crash could undo).
    pub fn shown(mut self, commit: Commit) -> Self {
        self.commit = Some(commit);
        self
    }

    /// 200 once `commit` is durable.
    pub fn after(commit: Commit, body: Value) -> Self {
        Self {
            status: Status::ok(200, "OK"),
            body,
            commit: Some(commit),
        }
    }
}

/// Stored bodies of locked messages, for `properties-to-modify` in `update-disposition`:
/// messages this connection received through `receive-by-sequence-number`, and those
/// delivered on its receiver links.
pub(super) struct Bodies<'a> {
    held: &'a mut HashMap<LockToken, Bytes>,
    receivers: &'a HashMap<LinkId, ReceiverLink>,
}

impl Bodies<'_> {
    /// Keeps the body of a message locked through `$management`.
    pub fn remember(&mut self, token: LockToken, body: Bytes) {
        self.held.insert(token, body);
    }

    /// The lock on session `session_id` of the entity at `path` that a receiver link of this
    /// connection holds. Service Bus ties session operations to the receiver holding the lock:
    /// a client whose lock expired (and was taken by another receiver) cannot renew it or
    /// write the state, even though the session id is the same.
    pub fn held_session(&self, path: &str, session_id: &str) -> Option<&SessionLock> {
        // A connection may still have a link on the lock it lost next to one on the lock it
        // holds now: take the one that holds.
        self.receivers
            .values()
            .filter_map(|r| r.session_lock(path, session_id))
            .find(|lock| lock.is_held())
    }

    /// The body locked under `token` (forgetting a `$management` one: it is being settled).
    pub fn take(&mut self, token: &LockToken) -> Option<Bytes> {
        self.held
            .remove(token)
            .or_else(|| self.receivers.values().find_map(|r| r.body_of(token)))
    }
}

impl NodeHandler {
    pub(super) fn management(
        &mut self,
        cx: &mut Context<'_>,
        reply_link: LinkId,
        path: &str,
        request: Request,
    ) {
        let operation = request.property("operation").unwrap_or_default().to_owned();
        if let Some(right) = required_right(&operation) {
            let node = format!("{path}/$management");
            if let Err(denied) = self.auth.check(&node, Some(right), SystemTime::now()) {
                tracing::debug!(%path, %operation, %denied, "management request refused");
                let text = errors::with_tracking_id(&denied.to_string());
                let status = Status::error(401, "amqp:unauthorized-access", text);
                let reply = request::encode_reply(request.message_id, &status, Value::Null);
                return self.replies.send(cx, reply_link, reply.into());
            }
        }
        let mut bodies = Bodies {
            held: &mut self.held_bodies,
            receivers: &self.receivers,
        };
        let answer = management_ops::execute(&self.config, path, &operation, &request, &mut bodies);
        tracing::debug!(%path, %operation, ok = answer.is_ok(), "management request");
        let request_id = request.message_id;
        match answer {
            Ok(Answer {
                status,
                body,
                commit: Some(commit),
            }) => {
                self.after_commit(
                    cx,
                    commit,
                    Action::Reply {
                        link: reply_link,
                        request_id,
                        status,
                        body,
                    },
                );
            }
            Ok(Answer {
                status,
                body,
                commit: None,
            }) => {
                let reply = request::encode_reply(request_id, &status, body);
                self.replies.send(cx, reply_link, reply.into());
            }
            Err(error) => {
                let status = Status::error(
                    i32::from(error.status_code()),
                    error.condition(),
                    error.to_string(),
                );
                let reply = request::encode_reply(request_id, &status, Value::Null);
                self.replies.send(cx, reply_link, reply.into());
            }
        }
    }
}

/// The claim a `$management` operation needs, as Azure asks for it (unknown operations are
/// left to the operation table, which refuses them).
fn required_right(operation: &str) -> Option<Right> {
    match operation.strip_prefix("com.microsoft:")? {
        "schedule-message" | "cancel-scheduled-message" => Some(Right::Send),
        "renew-lock"
        | "renew-session-lock"
        | "get-session-state"
        | "set-session-state"
        | "peek-message"
        | "receive-by-sequence-number"
        | "update-disposition"
        | "get-message-sessions" => Some(Right::Listen),
        "add-rule" | "remove-rule" | "enumerate-rules" => Some(Right::Manage),
        _ => None,
    }
}

fn missing(key: &str) -> EntityError {
    EntityError::InvalidArgument(format!("The request body has no valid '{key}' field."))
}

/// A string field.
pub(super) fn string(request: &Request, key: &str) -> Option<String> {
    match request.field(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Symbol(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// A required string field.
pub(super) fn required_string(request: &Request, key: &str) -> Result<String, EntityError> {
    string(request, key).ok_or_else(|| missing(key))
}

/// An integer field of any integer type.
pub(super) fn integer(request: &Request, key: &str) -> Option<i64> {
    request.field(key).and_then(as_i64)
}

fn as_i64(value: &Value) -> Option<i64> {
    match *value {
        Value::Byte(v) => Some(i64::from(v)),
        Value::Short(v) => Some(i64::from(v)),
        Value::Int(v) => Some(i64::from(v)),
        Value::Long(v) => Some(v),
        Value::Ubyte(v) => Some(i64::from(v)),
        Value::Ushort(v) => Some(i64::from(v)),
        Value::Uint(v) => Some(i64::from(v)),
        Value::Ulong(v) => i64::try_from(v).ok(),
        _ => None,
    }
}

/// The items of an array or list field.
fn items<'r>(request: &'r Request, key: &str) -> Result<&'r [Value], EntityError> {
    match request.field(key) {
        Some(Value::Array(array)) => Ok(&array.0),
        Some(Value::List(list)) => Ok(list),
        _ => Err(missing(key)),
    }
}

/// An array of integers (sequence numbers).
pub(super) fn integers(request: &Request, key: &str) -> Result<Vec<i64>, EntityError> {
    items(request, key)?
        .iter()
        .map(|v| as_i64(v).ok_or_else(|| missing(key)))
        .collect()
}

/// An array of uuids (lock tokens, RFC byte order).
pub(super) fn lock_tokens(request: &Request, key: &str) -> Result<Vec<LockToken>, EntityError> {
    items(request, key)?
        .iter()
        .map(|v| match v {
            Value::Uuid(u) => Ok(LockToken::from_bytes(*u.as_inner())),
            _ => Err(missing(key)),
        })
        .collect()
}

/// An optional timestamp field.
pub(super) fn timestamp(request: &Request, key: &str) -> Option<Timestamp> {
    match request.field(key)? {
        Value::Timestamp(t) => Some(t.clone()),
        _ => None,
    }
}
