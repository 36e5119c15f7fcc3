//! A small in-memory queue broker on top of the AMQP engine, used to test the engine
//! with real clients. Links are named after queues: the client's sender target and
//! receiver source address pick the queue.

#![allow(dead_code, clippy::unwrap_used)]

pub mod raw;

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use berth_emulator::amqp::{
    AttachReply, ConnectionConfig, ConnectionHandler, ConnectionWaker, Context, DeliveryUpdate,
    ErrorInfo, IncomingDelivery, LinkFlow, LinkId, LinkRole, Listener, Outcome, PeerInfo,
};
use bytes::Bytes;
use fe2o3_amqp_types::{definitions::SenderSettleMode, performatives::Attach};
use tokio::sync::mpsc;

/// Something the test handler saw.
#[derive(Debug)]
pub enum Seen {
    Open(PeerInfo),
    Transfer {
        queue: String,
        format: u32,
        len: usize,
    },
    Disposition(DeliveryUpdate),
    Flow(LinkFlow),
    DrainFinished {
        sent: usize,
    },
    Detach {
        closed: bool,
        error: Option<ErrorInfo>,
    },
    Held,
    Close(Option<ErrorInfo>),
}

#[derive(Default)]
struct Queues {
    queues: HashMap<String, VecDeque<Bytes>>,
    /// Attaches to `hold-*` queues wait until this is set.
    release_held: bool,
    wakers: Vec<ConnectionWaker>,
    next_tag: u64,
}

/// Shared state of all connections of one test broker.
#[derive(Clone, Default)]
pub struct Broker {
    inner: Arc<Mutex<Queues>>,
}

impl Broker {
    pub fn push(&self, queue: &str, payload: Bytes) {
        let mut q = self.inner.lock().unwrap();
        q.queues
            .entry(queue.to_owned())
            .or_default()
            .push_back(payload);
        q.wakers.retain(|w| !w.is_closed());
        for w in &q.wakers {
            w.wake();
        }
    }

    fn pop(&self, queue: &str) -> Option<(Bytes, [u8; 16])> {
        let mut q = self.inner.lock().unwrap();
        let payload = q.queues.get_mut(queue)?.pop_front()?;
        q.next_tag += 1;
        Some((payload, tag_for(q.next_tag)))
    }

    /// Lets held attaches (queues named `hold-*`) be answered, on every connection.
    pub fn release_held(&self) {
        let mut q = self.inner.lock().unwrap();
        q.release_held = true;
        for w in &q.wakers {
            w.wake();
        }
    }

    fn held_released(&self) -> bool {
        self.inner.lock().unwrap().release_held
    }

    pub fn len(&self, queue: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .queues
            .get(queue)
            .map_or(0, VecDeque::len)
    }
}

/// The 16-byte delivery tag of the n-th delivery the broker sends.
pub fn tag_for(n: u64) -> [u8; 16] {
    let mut tag = [0xA5u8; 16];
    tag[8..].copy_from_slice(&n.to_be_bytes());
    tag
}

/// The queue a link uses: the client receiver's source, the client sender's target.
fn queue_of(cx: &Context<'_>, link: LinkId) -> String {
    let info = cx.link_info(link).unwrap();
    let address = match info.role {
        LinkRole::Sender => &info.source_address,
        LinkRole::Receiver => &info.target_address,
    };
    address.clone().unwrap_or_default()
}

/// Handler: client senders fill queues, client receivers drain them.
pub struct QueueHandler {
    broker: Broker,
    seen: mpsc::UnboundedSender<Seen>,
    outgoing: Vec<(LinkId, String, bool)>,
    held: Vec<(LinkId, Attach)>,
}

impl QueueHandler {
    fn answer(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach, queue: String) {
        let role = cx.link_info(link).unwrap().role;
        if queue == "refuse-me" {
            cx.refuse_attach(link, ErrorInfo::new("amqp:not-found", "no such queue"))
                .unwrap();
            return;
        }
        let mut reply = AttachReply::echo(attach);
        reply.max_message_size = Some(4 * 1024 * 1024);
        reply.credit_window = 50;
        cx.accept_attach(link, reply).unwrap();
        if role == LinkRole::Sender {
            let settled = attach.snd_settle_mode == SenderSettleMode::Settled;
            self.outgoing.push((link, queue, settled));
            self.pump(cx);
        }
    }

    fn pump(&mut self, cx: &mut Context<'_>) -> usize {
        let mut sent = 0;
        for (link, queue, settled) in &self.outgoing {
            while cx.credit(*link) > 0 {
                let Some((payload, tag)) = self.broker.pop(queue) else {
                    break;
                };
                cx.send(*link, &tag, payload, 0, *settled).unwrap();
                sent += 1;
            }
        }
        sent
    }
}

impl ConnectionHandler for QueueHandler {
    fn on_open(&mut self, cx: &mut Context<'_>, peer: &PeerInfo) {
        self.broker.inner.lock().unwrap().wakers.push(cx.waker());
        let _ = self.seen.send(Seen::Open(peer.clone()));
    }

    fn on_attach(&mut self, cx: &mut Context<'_>, link: LinkId, attach: &Attach) {
        let queue = queue_of(cx, link);
        if queue.starts_with("hold-") && !self.broker.held_released() {
            // Answered later, from on_wake, like a next-available session wait.
            let _ = self.seen.send(Seen::Held);
            self.held.push((link, attach.clone()));
            return;
        }
        self.answer(cx, link, attach, queue);
    }

    fn on_transfer(&mut self, cx: &mut Context<'_>, link: LinkId, delivery: IncomingDelivery) {
        let queue = cx
            .link_info(link)
            .unwrap()
            .target_address
            .clone()
            .unwrap_or_default();
        let _ = self.seen.send(Seen::Transfer {
            queue: queue.clone(),
            format: delivery.message_format,
            len: delivery.payload.len(),
        });
        if !delivery.settled {
            cx.settle_incoming(link, delivery.delivery_id, Outcome::Accepted)
                .unwrap();
        }
        self.broker.push(&queue, delivery.payload);
    }

    fn on_disposition(&mut self, cx: &mut Context<'_>, link: LinkId, update: DeliveryUpdate) {
        if !update.settled {
            // Service Bus style: a rejected (dead-letter) succeeds with a bare `rejected`.
            let echo = match &update.outcome {
                Some(Outcome::Rejected(_)) => Outcome::Rejected(None),
                Some(other) => other.clone(),
                None => Outcome::Accepted,
            };
            cx.echo_settled(link, update.delivery_id, echo).unwrap();
        }
        let _ = self.seen.send(Seen::Disposition(update));
    }

    fn on_flow(&mut self, cx: &mut Context<'_>, link: LinkId, flow: LinkFlow) {
        let _ = self.seen.send(Seen::Flow(flow));
        let sent = self.pump(cx);
        if flow.drain {
            cx.finish_drain(link).unwrap();
            let _ = self.seen.send(Seen::DrainFinished { sent });
        }
    }

    fn on_detach(
        &mut self,
        _cx: &mut Context<'_>,
        link: LinkId,
        closed: bool,
        error: Option<ErrorInfo>,
    ) {
        self.outgoing.retain(|(l, _, _)| *l != link);
        let _ = self.seen.send(Seen::Detach { closed, error });
    }

    fn on_wake(&mut self, cx: &mut Context<'_>) {
        if self.broker.held_released() {
            for (link, attach) in std::mem::take(&mut self.held) {
                let queue = queue_of(cx, link);
                self.answer(cx, link, &attach, queue);
            }
        }
        self.pump(cx);
    }

    fn on_close(&mut self, error: Option<&ErrorInfo>) {
        let _ = self.seen.send(Seen::Close(error.cloned()));
    }
}

/// A running test broker.
pub struct TestBroker {
    pub listener: Listener,
    pub broker: Broker,
    pub seen: mpsc::UnboundedReceiver<Seen>,
}

impl TestBroker {
    pub async fn start(config: ConnectionConfig) -> Self {
        let broker = Broker::default();
        let (tx, seen) = mpsc::unbounded_channel();
        let b = broker.clone();
        let listener = Listener::bind("127.0.0.1:0", Arc::new(config), move |_| QueueHandler {
            broker: b.clone(),
            seen: tx.clone(),
            outgoing: Vec::new(),
            held: Vec::new(),
        })
        .await
        .unwrap();
        Self {
            listener,
            broker,
            seen,
        }
    }

    pub fn url(&self) -> String {
        format!("amqp://127.0.0.1:{}", self.listener.local_addr().port())
    }

    /// The next client `open` the handler saw.
    pub async fn next_open(&mut self) -> PeerInfo {
        self.wait_for(|s| if let Seen::Open(p) = s { Some(p) } else { None })
            .await
    }

    /// Payload length of the next message the handler received.
    pub async fn next_transfer_len(&mut self) -> usize {
        self.wait_for(|s| {
            if let Seen::Transfer { len, .. } = s {
                Some(len)
            } else {
                None
            }
        })
        .await
    }

    /// The next client disposition the handler saw.
    pub async fn next_disposition(&mut self) -> DeliveryUpdate {
        self.wait_for(|s| {
            if let Seen::Disposition(u) = s {
                Some(u)
            } else {
                None
            }
        })
        .await
    }

    /// Waits for the next observation matching `pick`, skipping the others.
    pub async fn wait_for<T>(&mut self, mut pick: impl FnMut(Seen) -> Option<T>) -> T {
        let wait = async {
            loop {
                let seen = self.seen.recv().await.expect("broker gone");
                if let Some(t) = pick(seen) {
                    return t;
                }
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(20), wait)
            .await
            .expect("expected observation did not arrive")
    }
}
