//! Reply links of `$cbs` and `$management`, and which one a reply goes to (invariant 4).
//!
//! A reply goes to the client receiver link on this connection whose target address equals the
//! request's `reply-to`, else whose link name equals it, else that is attached with source = the
//! node (preferring the request's session). Python's CBS sends no reply-to; JS's sets it to the
//! receiver's link name. Replies wait in a per-link outbox while the link has no credit.

use std::collections::VecDeque;

use bytes::Bytes;

use super::address;
use crate::amqp::{Context, ErrorInfo, LinkId};

/// Most replies one reply link keeps while the client grants it no credit.
pub const MAX_WAITING_REPLIES: usize = 64;

/// One client receiver link on `$cbs` or `<entity>/$management`.
#[derive(Debug)]
struct ReplyLink {
    id: LinkId,
    outbox: VecDeque<Bytes>,
}

/// The reply links of one connection.
#[derive(Debug, Default)]
pub struct Replies {
    links: Vec<ReplyLink>,
    next_tag: u32,
}

impl Replies {
    /// Registers an attached reply link.
    pub fn add(&mut self, id: LinkId) {
        self.links.push(ReplyLink {
            id,
            outbox: VecDeque::new(),
        });
    }

    /// Forgets a detached link (and its unsent replies).
    pub fn remove(&mut self, id: LinkId) -> bool {
        let before = self.links.len();
        self.links.retain(|l| l.id != id);
        self.links.len() != before
    }

    /// Whether `id` is a reply link.
    pub fn contains(&self, id: LinkId) -> bool {
        self.links.iter().any(|l| l.id == id)
    }

    /// The link a reply to a request for `node` (address path), arriving on `channel` with
    /// `reply_to`, should go to.
    pub fn route(
        &self,
        cx: &Context<'_>,
        node: &str,
        reply_to: Option<&str>,
        channel: u16,
    ) -> Option<LinkId> {
        let infos = || {
            self.links
                .iter()
                .filter_map(|l| cx.link_info(l.id).map(|info| (l.id, info)))
        };
        if let Some(reply_to) = reply_to {
            if let Some((id, _)) =
                infos().find(|(_, i)| i.target_address.as_deref() == Some(reply_to))
            {
                return Some(id);
            }
            if let Some((id, _)) = infos().find(|(_, i)| i.name == reply_to) {
                return Some(id);
            }
        }
        let on_node = |i: &&crate::amqp::LinkInfo| {
            i.source_address
                .as_deref()
                .is_some_and(|s| address::same_node(s, node))
        };
        infos()
            .filter(|(_, i)| on_node(i))
            .min_by_key(|(_, i)| i.channel != channel)
            .map(|(id, _)| id)
    }

    /// Queues `reply` on `link` and sends what its credit allows. A link that already holds
    /// [`MAX_WAITING_REPLIES`] replies for want of credit is detached with
    /// `amqp:resource-limit-exceeded` (and its replies dropped): a client that sends requests
    /// but never grants credit cannot make the broker keep every answer.
    pub fn send(&mut self, cx: &mut Context<'_>, link: LinkId, reply: Bytes) {
        if let Some(l) = self.links.iter_mut().find(|l| l.id == link) {
            if l.outbox.len() >= MAX_WAITING_REPLIES {
                tracing::warn!(%link, "detaching a reply link that grants no credit for its replies");
                let text = format!(
                    "{MAX_WAITING_REPLIES} replies are waiting for credit on this link; grant \
                     credit to the reply link before sending more requests."
                );
                let _ = cx.detach(
                    link,
                    Some(ErrorInfo::new("amqp:resource-limit-exceeded", text)),
                );
                self.remove(link);
                return;
            }
            l.outbox.push_back(reply);
        }
        self.flush(cx, link);
    }

    /// Sends queued replies on `link` while it has credit.
    pub fn flush(&mut self, cx: &mut Context<'_>, link: LinkId) {
        let Some(l) = self.links.iter_mut().find(|l| l.id == link) else {
            return;
        };
        while cx.credit(link) > 0 {
            let Some(reply) = l.outbox.pop_front() else {
                break;
            };
            self.next_tag = self.next_tag.wrapping_add(1);
            if let Err(error) = cx.send(link, &self.next_tag.to_be_bytes(), reply, 0, true) {
                tracing::debug!(%link, %error, "reply not sent");
                break;
            }
        }
    }
}
