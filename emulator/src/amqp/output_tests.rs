//! Output back-pressure: a client that grants credit and window but reads nothing cannot
//! make the engine copy more than about [`OUTPUT_HIGH_WATER`] into its output buffer; the
//! rest waits in the session's outbox (sharing the payloads) until the output drains, and
//! the handler sees no credit meanwhile, so it stops producing deliveries.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use fe2o3_amqp_types::{
    definitions::{ReceiverSettleMode, Role, SenderSettleMode},
    messaging::Source,
    messaging::{Accepted, DeliveryState},
    performatives::{Attach, Begin, Disposition, Flow, Open},
};
use serde::Serialize;

use super::{MAX_HELD_DELIVERIES, MAX_UNSETTLED_OUTGOING, OUTPUT_HIGH_WATER};
use crate::amqp::{
    config::ConnectionConfig,
    engine::{Engine, Event},
    frame::{parse_frame, write_frame, FRAME_TYPE_AMQP},
    handler::PeerInfo,
    link::AttachReply,
};

const CLIENT_MAX_FRAME: u32 = 65_536;

fn feed<T: Serialize>(engine: &mut Engine, performative: &T) {
    let mut buf = BytesMut::new();
    write_frame(&mut buf, FRAME_TYPE_AMQP, 0, performative).unwrap();
    let frame = parse_frame(&mut buf, 1 << 20).unwrap().unwrap();
    engine.on_frame(frame).unwrap();
}

/// An engine with one link on which the broker sends, and plenty of credit and window.
fn sending_engine() -> (Engine, crate::amqp::LinkId) {
    let mut engine = Engine::new(Arc::new(ConnectionConfig::default()), PeerInfo::default());
    let open = Open {
        container_id: "c".into(),
        hostname: None,
        max_frame_size: CLIENT_MAX_FRAME.into(),
        channel_max: 9.into(),
        idle_time_out: None,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    };
    feed(&mut engine, &open);
    feed(
        &mut engine,
        &Begin {
            remote_channel: None,
            next_outgoing_id: 0,
            incoming_window: 1_000_000,
            outgoing_window: 1_000_000,
            handle_max: 9.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        },
    );
    let attach = Attach {
        name: "r".into(),
        handle: 0.into(),
        role: Role::Receiver,
        snd_settle_mode: SenderSettleMode::Unsettled,
        rcv_settle_mode: ReceiverSettleMode::First,
        source: Some(Box::new(Source::builder().address("q").build())),
        target: None,
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: None,
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    };
    feed(&mut engine, &attach);
    let id = engine
        .events
        .iter()
        .find_map(|e| match e {
            Event::Attach(id, _) => Some(*id),
            _ => None,
        })
        .unwrap();
    engine
        .accept_attach(id, AttachReply::echo(&attach))
        .unwrap();
    feed(&mut engine, &flow(1_000_000, Some(1000)));
    engine.out.clear();
    (engine, id)
}

/// A flow from the client: its session window, and link credit on handle 0 if given.
fn flow(window: u32, credit: Option<u32>) -> Flow {
    Flow {
        next_incoming_id: Some(0),
        incoming_window: window,
        next_outgoing_id: 0,
        outgoing_window: 1_000_000,
        handle: credit.map(|_| 0.into()),
        delivery_count: credit.map(|_| 0),
        link_credit: credit,
        available: None,
        drain: false,
        echo: false,
        properties: None,
    }
}

fn flow_event_for(engine: &Engine, id: crate::amqp::LinkId) -> bool {
    engine
        .events
        .iter()
        .any(|e| matches!(e, Event::Flow(l) if *l == id))
}

#[test]
fn held_back_output_reads_as_no_credit_until_the_client_reads() {
    let (mut engine, id) = sending_engine();
    let payload = Bytes::from(vec![0x40u8; 1 << 20]);
    let mut sent = 0u32;
    while engine.usable_credit(id) > 0 {
        assert!(sent < 100, "credit never ran out");
        engine
            .send(id, &sent.to_be_bytes(), payload.clone(), 0, true)
            .unwrap();
        sent += 1;
    }
    assert!(engine.output_held);
    engine.events.clear();
    engine.out.clear();
    engine.resume_output();
    assert!(
        flow_event_for(&engine, id),
        "the handler hears it may send again"
    );
    assert!(engine.usable_credit(id) > 0);
}

#[test]
fn a_closed_session_window_holds_back_a_bounded_number_of_deliveries() {
    let (mut engine, id) = sending_engine();
    feed(&mut engine, &flow(0, None));
    let mut sent = 0u32;
    while engine.usable_credit(id) > 0 {
        engine
            .send(id, &sent.to_be_bytes(), Bytes::from_static(b"m"), 0, true)
            .unwrap();
        sent += 1;
        assert!(sent as usize <= MAX_HELD_DELIVERIES, "credit never ran out");
    }
    assert_eq!(sent as usize, MAX_HELD_DELIVERIES);
    engine.events.clear();
    feed(&mut engine, &flow(1_000_000, None));
    assert!(
        flow_event_for(&engine, id),
        "the handler hears it may send again"
    );
    assert!(engine.usable_credit(id) > 0);
}

#[test]
fn a_client_that_does_not_read_holds_the_output_at_the_high_water_mark() {
    let (mut engine, id) = sending_engine();
    let payload = Bytes::from(vec![0x40u8; 1 << 20]);
    let messages = 3 * OUTPUT_HIGH_WATER / payload.len();
    for n in 0..messages {
        let tag = (n as u32).to_be_bytes();
        engine.send(id, &tag, payload.clone(), 0, true).unwrap();
        assert!(
            engine.out.len() <= OUTPUT_HIGH_WATER + CLIENT_MAX_FRAME as usize,
            "output {} after {n} messages",
            engine.out.len()
        );
    }
    assert!(engine.output_held);
    // As the client reads, the held transfers follow, until all are written.
    let mut written = 0;
    for _ in 0..10 {
        written += engine.out.len();
        engine.out.clear();
        engine.resume_output();
        if engine.out.is_empty() {
            break;
        }
    }
    assert!(
        written >= messages * payload.len(),
        "{written} bytes written"
    );
    assert!(!engine.output_held);
}

#[test]
fn a_client_that_never_settles_gets_no_more_deliveries_until_it_does() {
    let (mut engine, id) = sending_engine();
    feed(&mut engine, &flow(1_000_000, Some(100_000)));
    let mut sent = 0u32;
    while engine.usable_credit(id) > 0 {
        engine
            .send(id, &sent.to_be_bytes(), Bytes::from_static(b"m"), 0, false)
            .unwrap();
        sent += 1;
        assert!(
            sent as usize <= MAX_UNSETTLED_OUTGOING,
            "credit never ran out"
        );
        engine.out.clear();
    }
    assert_eq!(sent as usize, MAX_UNSETTLED_OUTGOING);
    engine.events.clear();
    let settle = Disposition {
        role: Role::Receiver,
        first: 0,
        last: Some(9),
        settled: true,
        state: Some(DeliveryState::Accepted(Accepted {})),
        batchable: false,
    };
    feed(&mut engine, &settle);
    assert!(
        flow_event_for(&engine, id),
        "the handler hears it may send again"
    );
    assert!(engine.usable_credit(id) > 0);
}
