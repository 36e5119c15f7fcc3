//! A scripted client connection around one fuzzed message: the frames an SDK sends to put a
//! `$cbs` / `$management` request or a message to an entity, with the message's encoded
//! sections (the part under test) taken from the fuzzer. The script is fed to the real
//! broker through [`crate::broker::serve`], so the fuzzed bytes travel the same path as a
//! socket's: framing, performative decoding, the link's transfer assembly, then the node
//! layer's request or message decoding.
//!
//! Input layout: one selector byte, then the message payload.
//! * bits 0–2: the node ([`NODES`]); the last one sends a batch (`message-format` 0x80013700);
//! * bit 3: [`Auth::Rules`] instead of [`Auth::Open`];
//! * bit 4: after the message, attach a receiver with credit on the entity (messages sent to
//!   it are delivered back, re-encoded with the broker's annotations).

use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::Target;

use crate::broker::{serve, Auth};
use crate::raw::{attach, begin, frame, link_flow, open, transfer, AMQP_HEADER};

/// The nodes a script can talk to: (link target, receiver address for bit 4 or the reply link).
pub const NODES: [(&str, &str); 8] = [
    ("$cbs", "$cbs"),
    ("q/$management", "q/$management"),
    ("sq/$management", "sq/$management"),
    (
        "t/Subscriptions/s/$management",
        "t/Subscriptions/s/$management",
    ),
    ("q", "q"),
    ("sq", "sq"),
    ("t", "t/Subscriptions/s"),
    ("q", "q"),
];

/// `message-format` of a Service Bus batch.
const BATCH_FORMAT: u32 = 0x8001_3700;
/// The reply link's target: requests of the seeds name it as `reply-to`.
pub const REPLY_TO: &str = "reply-target";

/// The bytes a client sends for `selector` and `payload` (see the module docs).
pub fn client_bytes(selector: u8, payload: &[u8]) -> Vec<u8> {
    let index = usize::from(selector & 7);
    let (target, receive_from) = NODES[index];
    let request = target.starts_with('$') || target.ends_with("/$management");
    let mut out = AMQP_HEADER.to_vec();
    out.extend(frame(0, &open("fuzz", None), &[]));
    out.extend(frame(0, &begin(), &[]));
    if request {
        let mut reply = attach("reply", 1, Role::Receiver, receive_from);
        let target = Target::builder().address(REPLY_TO).build();
        reply.target = Some(Box::new(target.into()));
        out.extend(frame(0, &reply, &[]));
        out.extend(frame(0, &link_flow(1, Some(0), 10, false), &[]));
    }
    out.extend(frame(0, &attach("request", 0, Role::Sender, target), &[]));
    let mut message = transfer(0, 0, b"fuzz-tag");
    if index == 7 {
        message.message_format = Some(BATCH_FORMAT);
    }
    out.extend(frame(0, &message, payload));
    if selector & 0x10 != 0 && !request {
        out.extend(frame(
            0,
            &attach("out", 2, Role::Receiver, receive_from),
            &[],
        ));
        out.extend(frame(0, &link_flow(2, Some(0), 10, false), &[]));
    }
    out
}

/// Runs the script of `data` (selector byte + payload) against the broker; returns the
/// broker's output.
pub fn run(data: &[u8]) -> Vec<u8> {
    let Some((&selector, payload)) = data.split_first() else {
        return Vec::new();
    };
    let auth = if selector & 8 != 0 {
        Auth::Rules
    } else {
        Auth::Open
    };
    serve(&client_bytes(selector, payload), auth)
}
