//! A scripted, misbehaving Service Bus peer for the `host peek` paging tests: a real AMQP
//! listener (the emulator's generic `amqp` engine, which knows nothing of Service Bus) that
//! accepts any token on `$cbs` and answers every `com.microsoft:peek-message` with the
//! sequence numbers a test's script picks for the `from-sequence-number` asked — repeats,
//! out-of-order pages, or pages that never move forward, as a faulty broker might. It records
//! every `from-sequence-number` it was asked for.
//!
//! A peer of its own rather than a hook in the embedded broker (which answers peeks
//! correctly and should stay that way) or a proxy rewriting replies (which would have to
//! decode and re-encode management bodies to change them): the client code under test runs
//! unchanged over a real socket; only the broker's answer is scripted.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use berth_emulator::amqp::{
    AttachReply, ConnectionConfig, ConnectionHandler, Context, IncomingDelivery, LinkFlow, LinkId,
    Listener, Outcome,
};
use berth_emulator::node::replies::Replies;
use berth_emulator::node::request::{encode_reply, map, Request, Status};
use bytes::Bytes;
use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::{Message, MessageAnnotations, Properties};
use fe2o3_amqp_types::performatives::Attach;
use fe2o3_amqp_types::primitives::{Binary, Value};

/// The sequence numbers to answer a peek from `from` for at most `count` messages with.
pub type Script = Arc<dyn Fn(i64, i32) -> Vec<i64> + Send + Sync>;

/// A running peer.
pub struct PeekPeer {
    listener: Listener,
    asked: Arc<Mutex<Vec<i64>>>,
}

impl PeekPeer {
    /// Starts a peer on a free loopback port answering peeks by `script`.
    pub async fn start(script: Script) -> PeekPeer {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let recorded = asked.clone();
        let listener = Listener::bind(
            "127.0.0.1:0",
            Arc::new(ConnectionConfig::default()),
            move |_| Handler {
                script: script.clone(),
                asked: recorded.clone(),
                replies: Replies::default(),
            },
        )
        .await
        .unwrap();
        PeekPeer { listener, asked }
    }

    /// A connection string for it (plain AMQP).
    pub fn connection_string(&self) -> String {
        format!(
            "Endpoint=sb://{};SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true",
            self.listener.local_addr()
        )
    }

    /// Every `from-sequence-number` asked so far, in order.
    pub fn asked(&self) -> Vec<i64> {
        self.asked.lock().unwrap().clone()
    }
}

impl Drop for PeekPeer {
    fn drop(&mut self) {
        self.listener.shutdown();
    }
}

struct Handler {
    script: Script,
    asked: Arc<Mutex<Vec<i64>>>,
    replies: Replies,
}

impl ConnectionHandler for Handler {
    fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
        let mut reply = AttachReply::echo(attach);
        if attach.role == Role::Sender {
            reply.credit_window = 100; // requests come in on it
        }
        if cx.accept_attach(link, reply).is_ok() && attach.role == Role::Receiver {
            self.replies.add(link); // replies go out on it
        }
    }

    fn on_transfer(&mut self, cx: &mut Context<'_>, link: LinkId, delivery: IncomingDelivery) {
        if !delivery.settled {
            let _ = cx.settle_incoming(link, delivery.delivery_id, Outcome::Accepted);
        }
        let Ok(request) = Request::decode(&delivery.payload) else {
            return;
        };
        let reply = match request.property("operation") {
            Some("com.microsoft:peek-message") => self.peek(&request),
            _ => encode_reply(
                request.message_id.clone(),
                &Status::ok(202, "Accepted"),
                Value::Null,
            ),
        };
        let channel = cx.link_info(link).map_or(0, |info| info.channel);
        let node = cx
            .link_info(link)
            .and_then(|info| info.target_address.clone())
            .unwrap_or_default();
        if let Some(out) = self
            .replies
            .route(cx, &node, request.reply_to.as_deref(), channel)
        {
            self.replies.send(cx, out, Bytes::from(reply));
        }
    }

    fn on_flow(&mut self, cx: &mut Context<'_>, link: LinkId, flow: LinkFlow) {
        self.replies.flush(cx, link);
        if flow.drain {
            let _ = cx.finish_drain(link);
        }
    }

    fn on_detach(
        &mut self,
        _cx: &mut Context<'_>,
        link: LinkId,
        _closed: bool,
        _error: Option<berth_emulator::amqp::ErrorInfo>,
    ) {
        self.replies.remove(link);
    }
}

impl Handler {
    /// The scripted answer to a peek request.
    fn peek(&self, request: &Request) -> Vec<u8> {
        let from = match request.field("from-sequence-number") {
            Some(Value::Long(n)) => *n,
            _ => -1,
        };
        let count = match request.field("message-count") {
            Some(Value::Int(n)) => *n,
            _ => 0,
        };
        self.asked.lock().unwrap().push(from);
        let numbers = (self.script)(from, count);
        if numbers.is_empty() {
            return encode_reply(
                request.message_id.clone(),
                &Status::ok(204, "No Content"),
                Value::Null,
            );
        }
        let messages = numbers
            .into_iter()
            .map(|n| map([("message", Value::Binary(Binary::from(encoded(n))))]))
            .collect();
        encode_reply(
            request.message_id.clone(),
            &Status::ok(200, "OK"),
            map([("messages", Value::List(messages))]),
        )
    }
}

/// Message number `n`: sequence number `n`, message id `m<n>`, body `body <n>`.
fn encoded(n: i64) -> Vec<u8> {
    let message = Message::builder()
        .message_annotations(
            MessageAnnotations::builder()
                .insert("x-opt-sequence-number", Value::Long(n))
                .build(),
        )
        .properties(Properties {
            message_id: Some(format!("m{n}").into()),
            ..Properties::default()
        })
        .data(Binary::from(format!("body {n}").into_bytes()))
        .build();
    serde_amqp::to_vec(&Serializable(message)).unwrap()
}
