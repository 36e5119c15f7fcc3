//! Codec tests: every performative round-trips through our framing and decoding;
//! malformed and truncated input gives errors, never panics.

use bytes::{Bytes, BytesMut};
use fe2o3_amqp_types::{
    definitions::{Error, ReceiverSettleMode, Role, SenderSettleMode},
    messaging::{DeliveryState, Modified, Rejected, Source, Target},
    performatives::{Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Transfer},
};
use serde::Serialize;
use serde_amqp::{described::Described, descriptor::Descriptor, primitives::OrderedMap, Value};

use crate::amqp::{
    decode::{decode_performative, Performative},
    frame::{parse_frame, write_frame, FRAME_TYPE_AMQP},
    outcome::{ErrorInfo, Outcome},
};

fn body_of<T: Serialize>(performative: &T) -> Bytes {
    let mut out = BytesMut::new();
    write_frame(&mut out, FRAME_TYPE_AMQP, 3, performative).unwrap();
    let frame = parse_frame(&mut out, 1 << 20).unwrap().unwrap();
    assert_eq!(frame.channel, 3);
    frame.body
}

fn samples() -> Vec<Bytes> {
    let attach = Attach {
        name: "link".into(),
        handle: 4.into(),
        role: Role::Receiver,
        snd_settle_mode: SenderSettleMode::Unsettled,
        rcv_settle_mode: ReceiverSettleMode::Second,
        source: Some(Box::new(Source::builder().address("q").build())),
        target: Some(Box::new(Target::builder().address("t").build().into())),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: None,
        max_message_size: Some(1 << 20),
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    };
    let rejected = DeliveryState::Rejected(Rejected {
        error: Some(Error::new(
            fe2o3_amqp_types::definitions::AmqpError::NotFound,
            Some("gone".to_owned()),
            None,
        )),
    });
    vec![
        body_of(&Open {
            container_id: "c".into(),
            hostname: None,
            max_frame_size: 65536.into(),
            channel_max: 9.into(),
            idle_time_out: Some(1000),
            outgoing_locales: None,
            incoming_locales: None,
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }),
        body_of(&Begin {
            remote_channel: None,
            next_outgoing_id: 1,
            incoming_window: 2,
            outgoing_window: 3,
            handle_max: 4.into(),
            offered_capabilities: None,
            desired_capabilities: None,
            properties: None,
        }),
        body_of(&attach),
        body_of(&Flow {
            next_incoming_id: Some(1),
            incoming_window: 2,
            next_outgoing_id: 3,
            outgoing_window: 4,
            handle: Some(5.into()),
            delivery_count: Some(6),
            link_credit: Some(7),
            available: None,
            drain: true,
            echo: true,
            properties: None,
        }),
        body_of(&Disposition {
            role: Role::Receiver,
            first: 1,
            last: Some(9),
            settled: true,
            state: Some(rejected),
            batchable: false,
        }),
        body_of(&Detach {
            handle: 4.into(),
            closed: true,
            error: None,
        }),
        body_of(&End { error: None }),
        body_of(&Close { error: None }),
    ]
}

#[test]
fn performatives_round_trip() {
    let decoded: Vec<Performative> = samples()
        .into_iter()
        .map(|b| decode_performative(b).unwrap())
        .collect();
    assert!(matches!(&decoded[0], Performative::Open(o) if o.idle_time_out == Some(1000)));
    assert!(
        matches!(&decoded[2], Performative::Attach(a) if a.name == "link" && a.max_message_size == Some(1 << 20))
    );
    assert!(
        matches!(&decoded[3], Performative::Flow(f) if f.drain && f.echo && f.link_credit == Some(7))
    );
    let Performative::Disposition(d) = &decoded[4] else {
        panic!("{:?}", decoded[4])
    };
    let outcome = d.state.clone().and_then(Outcome::from_wire);
    assert_eq!(
        outcome,
        Some(Outcome::Rejected(Some(ErrorInfo {
            condition: "amqp:not-found".into(),
            description: Some("gone".into()),
            info: vec![],
        })))
    );
    assert!(matches!(&decoded[7], Performative::Close(_)));
}

#[test]
fn transfer_payload_is_the_rest_of_the_frame() {
    let transfer = Transfer {
        handle: 1.into(),
        delivery_id: Some(2),
        delivery_tag: Some(vec![1, 2, 3].into()),
        message_format: Some(0x8001_3700),
        settled: None,
        more: true,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    };
    let mut body = serde_amqp::to_vec(&transfer).unwrap();
    body.extend_from_slice(b"\x00\x53\x75payload");
    let Performative::Transfer(t, payload) = decode_performative(body.into()).unwrap() else {
        panic!("not a transfer")
    };
    assert_eq!(t, transfer);
    assert_eq!(&payload[..], b"\x00\x53\x75payload");
}

#[test]
fn every_truncation_is_an_error_not_a_panic() {
    for body in samples() {
        for cut in 0..body.len() {
            assert!(
                decode_performative(body.slice(..cut)).is_err(),
                "cut {cut} of {body:?}"
            );
        }
    }
}

#[test]
fn garbage_never_panics() {
    // A small deterministic generator; bytes biased towards AMQP format codes.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let codes = [
        0x00, 0x53, 0x10, 0x12, 0x14, 0x15, 0x45, 0xc0, 0xd0, 0xa1, 0xa3, 0xb1, 0xe0, 0xf0, 0xff,
        0x40,
    ];
    for sample in samples() {
        for _ in 0..300 {
            let mut bytes = sample.to_vec();
            for _ in 0..(next() % 4 + 1) {
                let i = (next() as usize) % bytes.len();
                bytes[i] = codes[(next() as usize) % codes.len()];
            }
            let _ = decode_performative(bytes.into());
        }
    }
    for len in 0..64 {
        let bytes: Vec<u8> = (0..len)
            .map(|_| codes[(next() as usize) % codes.len()])
            .collect();
        let _ = decode_performative(bytes.into());
    }
}

#[test]
fn symbolic_descriptors_decode() {
    let value = Value::Described(Box::new(Described {
        descriptor: Descriptor::Name("amqp:end:list".into()),
        value: Value::List(vec![]),
    }));
    let bytes = serde_amqp::to_vec(&value).unwrap();
    assert!(matches!(
        decode_performative(bytes.into()).unwrap(),
        Performative::End(_)
    ));
}

#[test]
fn string_keyed_error_info_decodes_everywhere() {
    let mut info = OrderedMap::new();
    info.insert(
        Value::String("DeadLetterReason".into()),
        Value::String("r".into()),
    );
    let error = Value::Described(Box::new(Described {
        descriptor: Descriptor::Code(0x1d),
        value: Value::List(vec![
            Value::Symbol("com.microsoft:dead-letter".into()),
            Value::Null,
            Value::Map(info),
        ]),
    }));
    let detach = Value::Described(Box::new(Described {
        descriptor: Descriptor::Code(0x16),
        value: Value::List(vec![Value::Uint(1), Value::Bool(true), error]),
    }));
    let bytes = serde_amqp::to_vec(&detach).unwrap();
    let Performative::Detach(d) = decode_performative(bytes.into()).unwrap() else {
        panic!("not a detach")
    };
    let e = ErrorInfo::from_wire(d.error.unwrap());
    assert_eq!(e.info_str("DeadLetterReason"), Some("r"));
    assert_eq!(e.description, None);
}

#[test]
fn modified_outcome_round_trips_through_the_wire_type() {
    let outcome = Outcome::Modified(crate::amqp::outcome::Modified {
        delivery_failed: Some(true),
        undeliverable_here: Some(false),
        message_annotations: vec![("x-opt-reason".into(), Value::String("r".into()))],
    });
    let wire = outcome.to_wire();
    assert!(matches!(
        &wire,
        DeliveryState::Modified(Modified {
            delivery_failed: Some(true),
            ..
        })
    ));
    let bytes = serde_amqp::to_vec(&wire).unwrap();
    let back: DeliveryState = serde_amqp::from_slice(&bytes).unwrap();
    assert_eq!(Outcome::from_wire(back), Some(outcome));
}
