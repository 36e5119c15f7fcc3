//! The session client of the crash tests: one raw AMQP connection per session, peek-lock with
//! credit 1, each delivery checked against what the client saw before the last crash.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use berth_emulator::entity::NewMessage;
use bytes::Bytes;
use fe2o3_amqp_types::definitions::Role;
use fe2o3_amqp_types::messaging::message::__private::{Deserializable, Serializable};
use fe2o3_amqp_types::messaging::{
    Accepted, Body, DeliveryState, FilterSet, Message, MessageId, Properties, Source,
};
use fe2o3_amqp_types::performatives::{Disposition, Performative};
use fe2o3_amqp_types::primitives::{Binary, Symbol, Value};

use crate::amqp_support::raw::{attach, begin, frame, link_flow, RawClient};

/// Sessions worked through at once (one connection each).
pub const SESSIONS: usize = 8;
/// Ordered steps per session.
pub const STEPS: u32 = 40;

/// How the client settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Unsettled `accepted`, then waits for the broker's settled answer before the next
    /// message (what the host does once it knows the verdict).
    WaitForVerdict,
    /// A settled `accepted` (no answer comes) and straight on to the next message.
    FireAndForget,
}

/// What the clients know, across broker restarts.
pub struct Progress {
    /// Per session: the last step confirmed (verdict) or completed (fire-and-forget).
    pub settled: Vec<u32>,
    /// Per session: the highest step ever delivered.
    pub delivered: Vec<u32>,
    /// Every broken promise seen.
    pub violations: Vec<String>,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            settled: vec![0; SESSIONS],
            delivered: vec![0; SESSIONS],
            violations: Vec::new(),
        }
    }
}

fn session_id(session: usize) -> String {
    format!("s{session}")
}

/// Step `step` of session `session`: message-id `s<session>:<step>`, group-id `s<session>`.
pub fn new_message(session: usize, step: u32) -> NewMessage {
    let id = session_id(session);
    let properties = Properties {
        message_id: Some(MessageId::String(format!("{id}:{step}"))),
        group_id: Some(id.clone()),
        ..Properties::default()
    };
    let message = Message::builder()
        .properties(properties)
        .body(Body::<Value>::Data(
            vec![Binary::from(vec![0u8; 16]).into()].into(),
        ))
        .build();
    NewMessage::new(Bytes::from(
        serde_amqp::to_vec(&Serializable(message)).unwrap(),
    ))
    .with_session_id(id)
}

/// The (session, step) of an encoded message.
pub fn step_of(payload: &[u8]) -> Option<(usize, u32)> {
    let message: Deserializable<Message<Body<Value>>> = serde_amqp::from_slice(payload).ok()?;
    let Some(MessageId::String(id)) = message.0.properties?.message_id else {
        return None;
    };
    let (session, step) = id.split_once(':')?;
    Some((session.strip_prefix('s')?.parse().ok()?, step.parse().ok()?))
}

fn session_attach(session: usize) -> fe2o3_amqp_types::performatives::Attach {
    let mut a = attach("session", 1, Role::Receiver, "orders");
    let mut source = Source::builder().address("orders").build();
    let mut filters = FilterSet::new();
    filters.insert(
        Symbol::from("com.microsoft:session-filter"),
        Value::String(session_id(session)),
    );
    source.filter = Some(filters);
    a.source = Some(Box::new(source));
    a
}

fn accept(delivery_id: u32, settled: bool) -> Vec<u8> {
    let disposition = Disposition {
        role: Role::Receiver,
        first: delivery_id,
        last: None,
        settled,
        state: Some(DeliveryState::Accepted(Accepted {})),
        batchable: false,
    };
    frame(0, &disposition, &[])
}

/// Works session `session` until its last step is settled or the broker goes away.
pub async fn work(
    port: u16,
    session: usize,
    mode: Mode,
    progress: Arc<Mutex<Progress>>,
    done: Arc<AtomicUsize>,
) {
    if progress.lock().unwrap().settled[session] == STEPS {
        return;
    }
    let Some(mut c) = RawClient::try_opened(port).await else {
        return;
    };
    let violation = |why: String| progress.lock().unwrap().violations.push(why);
    if c.try_write(&frame(0, &begin(), &[])).await.is_none()
        || c.try_write(&frame(0, &session_attach(session), &[]))
            .await
            .is_none()
        || c.try_write(&frame(0, &link_flow(1, Some(0), 1, false), &[]))
            .await
            .is_none()
    {
        return;
    }
    let mut previous: Option<u32> = None;
    let mut received = 0u32;
    while let Some((performative, payload)) = c.next().await {
        let transfer = match performative {
            Performative::Transfer(t) => t,
            Performative::Detach(d) => {
                return violation(format!("session {session}: detached: {:?}", d.error))
            }
            _ => continue,
        };
        let Some((from, step)) = step_of(&payload) else {
            return violation(format!("session {session}: undecodable delivery"));
        };
        let Some(delivery_id) = transfer.delivery_id else {
            return violation(format!("session {session}: transfer without delivery-id"));
        };
        received += 1;
        {
            let mut p = progress.lock().unwrap();
            let (settled, delivered) = (p.settled[session], p.delivered[session]);
            let expected = match (previous, mode) {
                (Some(prev), _) => prev + 1..=prev + 1,
                // Confirmed steps never come back; the in-flight one may have completed.
                (None, Mode::WaitForVerdict) => settled + 1..=delivered + 1,
                // Only the last completed (in-flight) step may come back.
                (None, Mode::FireAndForget) => settled.max(1)..=settled + 1,
            };
            if from != session || !expected.contains(&step) {
                p.violations.push(format!(
                    "session {session} ({mode:?}): got s{from} step {step}, expected {expected:?} \
                     (previous in this connection {previous:?}, settled {settled}, \
                     delivered {delivered})"
                ));
                return;
            }
            p.delivered[session] = delivered.max(step);
        }
        previous = Some(step);
        match mode {
            Mode::WaitForVerdict => {
                if c.try_write(&accept(delivery_id, false)).await.is_none() {
                    return;
                }
                let answer = loop {
                    match c.next().await {
                        None => return,
                        Some((Performative::Disposition(d), _))
                            if d.settled
                                && (d.first..=d.last.unwrap_or(d.first)).contains(&delivery_id) =>
                        {
                            break d.state
                        }
                        Some(_) => {}
                    }
                };
                if !matches!(answer, Some(DeliveryState::Accepted(_))) {
                    return violation(format!(
                        "session {session}: completion of step {step} answered {answer:?}"
                    ));
                }
            }
            Mode::FireAndForget => {
                if c.try_write(&accept(delivery_id, true)).await.is_none() {
                    return;
                }
            }
        }
        progress.lock().unwrap().settled[session] = step;
        done.fetch_add(1, Ordering::SeqCst);
        if step == STEPS {
            return;
        }
        let flow = link_flow(1, Some(received), 1, false);
        if c.try_write(&frame(0, &flow, &[])).await.is_none() {
            return;
        }
    }
}
