//! The `com.microsoft:*` management operations, with the request and response shapes the
//! SDKs use (types as in the protocol reference's table F.3).

use bytes::Bytes;
use fe2o3_amqp_types::primitives::{Array, Binary, Timestamp, Uuid, Value};

use super::codec;
use super::management::{
    integer, integers, lock_tokens, required_string, string, timestamp, Answer, Bodies,
};
use super::request::{map, Request};
use super::{incoming, management_rules, outgoing, time, NodeConfig};
use crate::entity::{Disposition, EntityError, Node, ReceiveMode, ReceivedMessage};
use crate::store::Commit;

/// `last-updated-time` meaning "every session with messages or state" (.NET `DateTime.MaxValue`).
const ALL_SESSIONS: i64 = 253_402_300_800_000;

/// Runs `operation` on the entity at `path`.
pub(super) fn execute(
    config: &NodeConfig,
    path: &str,
    operation: &str,
    request: &Request,
    bodies: &mut Bodies<'_>,
) -> Result<Answer, EntityError> {
    if let Some(answer) = management_rules::execute(config, path, operation, request) {
        return answer;
    }
    let ns = &config.namespace;
    let session = string(request, "session-id");
    match operation {
        "com.microsoft:renew-lock" => {
            let entity = ns.receiver(path)?;
            let expirations = lock_tokens(request, "lock-tokens")?
                .iter()
                .map(|token| entity.renew_lock(token).map(timestamp_value))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Answer::ok(map([(
                "expirations",
                Value::Array(Array(expirations)),
            )])))
        }
        "com.microsoft:renew-session-lock" => {
            let id = required_string(request, "session-id")?;
            let entity = ns.receiver(path)?;
            let until = bodies
                .held_session(entity.path(), &id)
                .ok_or(EntityError::SessionLockLost)?
                .renew()?;
            Ok(Answer::ok(map([("expiration", timestamp_value(until))])))
        }
        "com.microsoft:get-session-state" => {
            let entity = ns.receiver(path)?;
            let state = entity.session_state(&required_string(request, "session-id")?)?;
            let state = state.map_or(Value::Null, |s| Value::Binary(Binary::from(s.to_vec())));
            Ok(Answer::after(
                entity.commit_all(),
                map([("session-state", state)]),
            ))
        }
        "com.microsoft:set-session-state" => {
            let state = match request.field("session-state") {
                Some(Value::Binary(b)) => Some(Bytes::copy_from_slice(b)),
                _ => None,
            };
            let id = required_string(request, "session-id")?;
            let entity = ns.receiver(path)?;
            let commit = bodies
                .held_session(entity.path(), &id)
                .ok_or(EntityError::SessionLockLost)?
                .set_state(state)?;
            Ok(Answer::after(commit, map([])))
        }
        "com.microsoft:peek-message" => {
            let from = integer(request, "from-sequence-number").unwrap_or(1);
            let count = integer(request, "message-count")
                .unwrap_or(1)
                .clamp(1, 1000) as usize;
            // A topic's peek lists its scheduled messages, as Azure's does.
            let (mut messages, shown) = match ns.resolve(path)? {
                Node::Topic(topic) => (topic.peek(from, count)?, topic.commit_all()),
                Node::Entity(entity) => (
                    entity.peek(from, count, session.as_deref())?,
                    entity.commit_all(),
                ),
            };
            messages.truncate(within_reply_budget(&messages, config.max_message_size));
            if messages.is_empty() {
                return Ok(Answer::none("No messages to peek.").shown(shown));
            }
            let list = messages
                .iter()
                .map(|m| map([("message", encoded(m, false))]))
                .collect();
            Ok(Answer::after(shown, map([("messages", Value::List(list))])))
        }
        "com.microsoft:receive-by-sequence-number" => {
            let seqs = integers(request, "sequence-numbers")?;
            let mode = match integer(request, "receiver-settle-mode") {
                Some(0) => ReceiveMode::ReceiveAndDelete,
                _ => ReceiveMode::PeekLock,
            };
            let entity = ns.receiver(path)?;
            let messages = entity.receive_deferred(&seqs, mode, session.as_deref())?;
            for m in &messages {
                if let Some(token) = m.lock_token {
                    bodies.remember(token, m.body.clone());
                }
            }
            let list = messages
                .iter()
                .map(|m| {
                    let token = m
                        .lock_token
                        .map_or(Value::Null, |t| Value::Uuid(Uuid::from(*t.as_bytes())));
                    map([("lock-token", token), ("message", encoded(m, true))])
                })
                .collect();
            Ok(Answer::after(
                entity.commit_all(),
                map([("messages", Value::List(list))]),
            ))
        }
        "com.microsoft:update-disposition" => update_disposition(config, path, request, bodies),
        "com.microsoft:schedule-message" => schedule(config, path, request),
        "com.microsoft:cancel-scheduled-message" => {
            let commit = ns
                .sender(path)?
                .cancel_scheduled(&integers(request, "sequence-numbers")?)?;
            Ok(Answer::after(commit, map([])))
        }
        "com.microsoft:get-message-sessions" => {
            let after = timestamp(request, "last-updated-time")
                .map(|t| t.milliseconds())
                .filter(|ms| *ms < ALL_SESSIONS)
                .map(time::from_unix_ms);
            let skip = integer(request, "skip").unwrap_or(0).max(0) as usize;
            let top = integer(request, "top").unwrap_or(100).clamp(1, 1000) as usize;
            let entity = ns.receiver(path)?;
            let ids = entity.list_sessions(after, skip, top)?;
            if ids.is_empty() {
                return Ok(Answer::none("No sessions.").shown(entity.commit_all()));
            }
            let next_skip = i32::try_from(skip + ids.len()).unwrap_or(i32::MAX);
            let ids = ids.into_iter().map(Value::String).collect();
            Ok(Answer::after(
                entity.commit_all(),
                map([
                    ("skip", Value::Int(next_skip)),
                    ("sessions-ids", Value::Array(Array(ids))),
                ]),
            ))
        }
        other => Err(EntityError::NotAllowed(
            format!("The management operation '{other}' is not supported.").into(),
        )),
    }
}

fn update_disposition(
    config: &NodeConfig,
    path: &str,
    request: &Request,
    bodies: &mut Bodies<'_>,
) -> Result<Answer, EntityError> {
    let entity = config.namespace.receiver(path)?;
    let text = |key| string(request, key).filter(|s| !s.is_empty());
    let status = required_string(request, "disposition-status")?;
    let changes = properties_to_modify(request);
    let disposition = |body: Option<Bytes>| match status.as_str() {
        "completed" => Ok(Disposition::Complete),
        "abandoned" => Ok(Disposition::Abandon { body }),
        "defered" | "deferred" => Ok(Disposition::Defer { body }),
        "suspended" => Ok(Disposition::DeadLetter {
            reason: text("deadletter-reason"),
            description: text("deadletter-description"),
            body,
        }),
        other => Err(EntityError::InvalidArgument(format!(
            "Unknown disposition-status '{other}'."
        ))),
    };
    let mut commit = Commit::ready();
    for token in lock_tokens(request, "lock-tokens")? {
        let held = bodies.take(&token);
        let body = held.and_then(|b| outgoing::modified_body(&b, &changes));
        commit = commit.and(entity.settle(&token, disposition(body)?)?);
    }
    Ok(Answer::after(commit, map([])))
}

/// The `properties-to-modify` map as key/value pairs (string or symbol keys).
fn properties_to_modify(request: &Request) -> Vec<(String, Value)> {
    let Some(Value::Map(map)) = request.field("properties-to-modify") else {
        return Vec::new();
    };
    map.iter()
        .filter_map(|(k, v)| match k {
            Value::String(k) => Some((k.clone(), v.clone())),
            Value::Symbol(k) => Some((k.as_str().to_owned(), v.clone())),
            _ => None,
        })
        .collect()
}

fn schedule(config: &NodeConfig, path: &str, request: &Request) -> Result<Answer, EntityError> {
    let sender = config.namespace.sender(path)?;
    let entries = match request.field("messages") {
        Some(Value::List(list)) => list.as_slice(),
        Some(Value::Array(array)) => array.0.as_slice(),
        _ => {
            return Err(EntityError::InvalidArgument(
                "The request body has no 'messages' list.".into(),
            ))
        }
    };
    let mut messages = Vec::with_capacity(entries.len());
    for entry in entries {
        let field = |key: &str| match entry {
            Value::Map(m) => m
                .iter()
                .find_map(|(k, v)| matches!(k, Value::String(s) if s == key).then_some(v)),
            _ => None,
        };
        let Some(Value::Binary(raw)) = field("message") else {
            return Err(EntityError::InvalidArgument(
                "A scheduled message has no 'message' binary.".into(),
            ));
        };
        let mut message = incoming::new_message(Bytes::copy_from_slice(raw))
            .map_err(EntityError::InvalidArgument)?;
        if message.scheduled_enqueue_time.is_none() {
            return Err(EntityError::InvalidArgument(
                "A scheduled message needs the x-opt-scheduled-enqueue-time annotation.".into(),
            ));
        }
        if message.session_id.is_none() {
            if let Some(Value::String(id)) = field("session-id") {
                message.session_id = Some(id.clone());
            }
        }
        messages.push(message);
    }
    let (seqs, commit) = sender.enqueue_batch(&messages)?;
    let seqs = seqs.into_iter().map(Value::Long).collect();
    Ok(Answer::after(
        commit,
        map([("sequence-numbers", Value::Array(Array(seqs)))]),
    ))
}

fn timestamp_value(at: std::time::SystemTime) -> Value {
    Value::Timestamp(Timestamp::from_milliseconds(time::unix_ms(at)))
}

/// A message as the `message` binary of peek / receive-by-sequence-number replies.
/// How many of `messages` (at least one) a peek reply carries: as many as fit in `budget`
/// bytes of message bodies, so that one request cannot make a reply of up to 1000 entire
/// messages. Clients page on by sequence number, as with Service Bus.
fn within_reply_budget(messages: &[ReceivedMessage], budget: u64) -> usize {
    let mut total = 0u64;
    let fitting = messages
        .iter()
        .take_while(|m| {
            total = total.saturating_add(m.body.len() as u64);
            total <= budget
        })
        .count();
    fitting.max(1).min(messages.len())
}

fn encoded(message: &ReceivedMessage, locked: bool) -> Value {
    let stamp = outgoing::stamp_of(message, locked);
    let mut out = Vec::with_capacity(message.body.len() + 192);
    match codec::encode_delivery(&message.body, &stamp, &mut out) {
        Ok(()) => Value::Binary(Binary::from(out)),
        Err(error) => {
            tracing::warn!(%error, sequence_number = message.sequence_number, "stored message could not be encoded");
            Value::Binary(Binary::from(message.body.to_vec()))
        }
    }
}
