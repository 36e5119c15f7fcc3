//! Transfers from the client: messages on entity sender links (single or batched, invariants
//! 18 and 19) and requests on `$cbs` / `$management` links.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::codec::{self, BATCH_FORMAT};
use super::errors;
use super::request::{self, Request};
use super::{time, Action, NodeHandler, RequestNode};
use crate::amqp::{Context, IncomingDelivery, LinkId, Outcome};
use crate::entity::{LockToken, NewMessage};
use crate::store::Commit;

impl NodeHandler {
    pub(super) fn transfer(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        delivery: IncomingDelivery,
    ) {
        if let Some(node) = self.requests.get(&link).cloned() {
            return self.request(cx, link, node, delivery);
        }
        let Some(sender) = self.senders.get(&link) else {
            return settle(
                cx,
                link,
                &delivery,
                refusal("amqp:not-allowed", "This link does not accept messages."),
            );
        };
        let enqueued: Result<Commit, Outcome> = match new_messages(&delivery) {
            Err(error) => Err(refusal("amqp:decode-error", &error)),
            Ok(messages) => {
                let enqueued = match messages.as_slice() {
                    [one] => sender.enqueue(one).map(|(_, commit)| commit),
                    many => sender.enqueue_batch(many).map(|(_, commit)| commit),
                };
                enqueued.map_err(|e| refusal(e.condition(), &e.to_string()))
            }
        };
        match enqueued {
            Ok(commit) if !delivery.settled => self.after_commit(
                cx,
                commit,
                Action::Settle {
                    link,
                    delivery_id: delivery.delivery_id,
                },
            ),
            Ok(_) => {}
            Err(refused) => settle(cx, link, &delivery, refused),
        }
    }

    fn request(
        &mut self,
        cx: &mut Context<'_>,
        link: LinkId,
        node: RequestNode,
        delivery: IncomingDelivery,
    ) {
        settle(cx, link, &delivery, Outcome::Accepted);
        let request = match Request::decode(&delivery.payload) {
            Ok(request) => request,
            Err(error) => return tracing::debug!(%link, %error, "request ignored"),
        };
        let channel = cx.link_info(link).map_or(0, |i| i.channel);
        let node_address = match &node {
            RequestNode::Cbs => "$cbs".to_owned(),
            RequestNode::Management(path) => format!("{path}/$management"),
        };
        let Some(reply_link) =
            self.replies
                .route(cx, &node_address, request.reply_to.as_deref(), channel)
        else {
            return tracing::debug!(%link, node = %node_address, "no reply link for a request");
        };
        match node {
            RequestNode::Cbs => {
                let outcome = self.auth.put_token(&request, SystemTime::now());
                tracing::debug!(
                    audience = request.property("name").unwrap_or_default(),
                    status = outcome.status.code,
                    description = %outcome.status.description,
                    properties = ?request.properties,
                    "put-token"
                );
                let reply = request::encode_reply(
                    request.message_id,
                    &outcome.status,
                    fe2o3_amqp_types::primitives::Value::Null,
                );
                self.replies.send(cx, reply_link, reply.into());
                if outcome.close {
                    let status = outcome.status;
                    let description = status.description;
                    cx.close(Some(errors::service_error(
                        "amqp:unauthorized-access",
                        &description,
                    )));
                }
            }
            RequestNode::Management(path) => self.management(cx, reply_link, &path, request),
        }
    }
}

/// The messages of a transfer: one, or each Data section of a batch.
fn new_messages(delivery: &IncomingDelivery) -> Result<Vec<NewMessage>, String> {
    let payload = &delivery.payload;
    if delivery.message_format != BATCH_FORMAT {
        return Ok(vec![new_message(payload.clone())?]);
    }
    codec::batch_messages(payload)
        .map(|part| {
            part.map_err(|e| e.to_string())
                .and_then(|part| new_message(payload.slice_ref(part)))
        })
        .collect()
}

/// A message for the entity layer from its encoded bytes; one sent without a message-id gets
/// one (32 hex digits, like Service Bus), which the JS SDK needs to track locks.
pub(super) fn new_message(body: Bytes) -> Result<NewMessage, String> {
    let info = codec::inspect(&body).map_err(|e| e.to_string())?;
    let mut message = NewMessage {
        session_id: info.session_id.map(str::to_owned),
        time_to_live: info.time_to_live_ms.map(Duration::from_millis),
        scheduled_enqueue_time: info.scheduled_enqueue_time_ms.map(time::from_unix_ms),
        message_id: info.message_id.map(message_id_key),
        body: Bytes::new(),
    };
    message.body = if info.has_message_id {
        body
    } else {
        let id = LockToken::random().to_string().replace('-', "");
        Bytes::from(codec::with_message_id(&body, &id).map_err(|e| e.to_string())?)
    };
    Ok(message)
}

/// The key duplicate detection compares: a string id as it is; any other id type (uuid,
/// ulong, binary) as its encoded bytes in hex, so ids of different types never collide.
fn message_id_key(raw: &[u8]) -> String {
    match super::wire::as_str(raw) {
        Some(id) => id.to_owned(),
        None => {
            let mut key = String::from("\u{0}amqp:");
            for b in raw {
                key.push_str(&format!("{b:02x}"));
            }
            key
        }
    }
}

fn refusal(condition: &str, text: &str) -> Outcome {
    Outcome::Rejected(Some(errors::service_error(condition, text)))
}

fn settle(cx: &mut Context<'_>, link: LinkId, delivery: &IncomingDelivery, outcome: Outcome) {
    if delivery.settled {
        return;
    }
    if let Err(error) = cx.settle_incoming(link, delivery.delivery_id, outcome) {
        tracing::debug!(%link, %error, "transfer not settled");
    }
}
