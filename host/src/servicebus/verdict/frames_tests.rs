use fe2o3_amqp_types::definitions::{
    self, ErrorCondition, ReceiverSettleMode, Role, SenderSettleMode,
};
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, Rejected, Source};
use fe2o3_amqp_types::performatives::{Attach, Detach, Disposition, End, Flow, Transfer};
use fe2o3_amqp_types::primitives::Symbol;
use serde::Serialize;

use super::*;

/// A frame on `channel` of `kind` (0 AMQP, 1 SASL) with `doff` words of header.
fn frame(kind: u8, channel: u16, doff: u8, body: &[u8]) -> Vec<u8> {
    let size = u32::from(doff) * 4 + body.len() as u32;
    let mut out = size.to_be_bytes().to_vec();
    out.extend_from_slice(&[doff, kind]);
    out.extend_from_slice(&channel.to_be_bytes());
    out.resize(usize::from(doff) * 4, 0xee); // extended header bytes, if any
    out.extend_from_slice(body);
    out
}

fn amqp(channel: u16, performative: &impl Serialize, payload: &[u8]) -> Vec<u8> {
    let mut body = serde_amqp::to_vec(performative).unwrap();
    body.extend_from_slice(payload);
    frame(0, channel, 2, &body)
}

fn attach(name: &str, handle: u32, role: Role) -> Attach {
    Attach {
        name: name.into(),
        handle: handle.into(),
        role,
        snd_settle_mode: SenderSettleMode::Unsettled,
        rcv_settle_mode: ReceiverSettleMode::Second,
        source: Some(Box::new(Source::builder().address("orders").build())),
        target: None,
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: Some(0),
        max_message_size: Some(262_144),
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

fn transfer(delivery_id: Option<u32>, more: bool) -> Transfer {
    Transfer {
        handle: 1.into(),
        delivery_id,
        delivery_tag: delivery_id.map(|_| vec![7u8; 16].into()),
        message_format: Some(0),
        settled: Some(false),
        more,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    }
}

fn lock_lost() -> definitions::Error {
    definitions::Error::new(
        ErrorCondition::Custom(Symbol::from("com.microsoft:session-lock-lost")),
        Some("The session lock has expired".into()),
        None,
    )
}

/// A broker's side of a connection: SASL, AMQP, one link's attach, a transfer in three
/// frames, a heartbeat, a flow, a disposition range, a rejected disposition, a detach
/// with an error, an end, and an answer to one of our sends.
fn stream() -> Vec<u8> {
    let mut out = b"AMQP\x03\x01\x00\x00".to_vec();
    out.extend(frame(1, 0, 2, &[0x00, 0x53, 0x40, 0x45])); // sasl-mechanisms (skipped)
    out.extend(frame(1, 0, 2, &[0x00, 0x53, 0x44, 0xc0, 2, 1, 0x50, 0]));
    out.extend_from_slice(b"AMQP\x00\x01\x00\x00");
    out.extend(frame(0, 0, 2, &[0x00, 0x53, 0x10, 0xc0, 3, 1, 0xa1, 0])); // open
    out.extend(amqp(3, &attach("berth-session-1", 1, Role::Sender), &[]));
    out.extend(amqp(3, &transfer(Some(40), true), &[0xab; 300]));
    out.extend(amqp(3, &transfer(None, true), &[0xcd; 100]));
    out.extend(amqp(3, &transfer(None, false), &[0xef; 5]));
    out.extend(frame(0, 0, 2, &[])); // heartbeat
    let flow = Flow {
        next_incoming_id: Some(1),
        incoming_window: 10,
        next_outgoing_id: 1,
        outgoing_window: 10,
        handle: None,
        delivery_count: None,
        link_credit: None,
        available: None,
        drain: false,
        echo: false,
        properties: None,
    };
    out.extend(amqp(3, &flow, &[]));
    out.extend(amqp(
        3,
        &Disposition {
            role: Role::Sender,
            first: 40,
            last: Some(42),
            settled: true,
            state: Some(DeliveryState::Accepted(Accepted {})),
            batchable: false,
        },
        &[],
    ));
    out.extend(amqp(
        3,
        &Disposition {
            role: Role::Sender,
            first: 43,
            last: None,
            settled: true,
            state: Some(DeliveryState::Rejected(Rejected {
                error: Some(lock_lost()),
            })),
            batchable: false,
        },
        &[],
    ));
    out.extend(amqp(
        3,
        &Detach {
            handle: 1.into(),
            closed: true,
            error: Some(lock_lost()),
        },
        &[],
    ));
    out.extend(amqp(3, &End { error: None }, &[]));
    out.extend(amqp(
        5,
        &Disposition {
            role: Role::Receiver,
            first: 0,
            last: None,
            settled: true,
            state: Some(DeliveryState::Accepted(Accepted {})),
            batchable: false,
        },
        &[],
    ));
    out
}

/// Events as text, to compare runs.
fn follow(chunks: impl Iterator<Item = Vec<u8>>) -> Result<Vec<String>, FrameError> {
    let mut follower = FrameFollower::default();
    let mut events = Vec::new();
    for chunk in chunks {
        follower.feed(&chunk, &mut |e| events.push(format!("{e:?}")))?;
    }
    Ok(events)
}

fn chunks(bytes: &[u8], sizes: &[usize]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < bytes.len() {
        let n = sizes[i % sizes.len()].min(bytes.len() - at);
        out.push(bytes[at..at + n].to_vec());
        at += n;
        i += 1;
    }
    out
}

#[test]
fn follows_the_verdict_performatives_whole() {
    let events = follow(std::iter::once(stream())).unwrap();
    let accepted = serde_amqp::to_vec(&DeliveryState::Accepted(Accepted {})).unwrap();
    let rejected = serde_amqp::to_vec(&DeliveryState::Rejected(Rejected {
        error: Some(lock_lost()),
    }))
    .unwrap();
    let error = serde_amqp::to_vec(&lock_lost()).unwrap();
    let expected = vec![
        format!(
            "{:?}",
            Event::Attach {
                channel: 3,
                name: "berth-session-1",
                handle: 1,
                receiver: false
            }
        ),
        format!(
            "{:?}",
            Event::Disposition {
                channel: 3,
                receiver: false,
                first: 40,
                last: 42,
                settled: true,
                state: Some(&accepted)
            }
        ),
        format!(
            "{:?}",
            Event::Disposition {
                channel: 3,
                receiver: false,
                first: 43,
                last: 43,
                settled: true,
                state: Some(&rejected)
            }
        ),
        format!(
            "{:?}",
            Event::Detach {
                channel: 3,
                handle: 1,
                error: Some(&error)
            }
        ),
        format!(
            "{:?}",
            Event::End {
                channel: 3,
                error: None
            }
        ),
        format!(
            "{:?}",
            Event::Disposition {
                channel: 5,
                receiver: true,
                first: 0,
                last: 0,
                settled: true,
                state: Some(&accepted)
            }
        ),
    ];
    assert_eq!(events, expected);
}

#[test]
fn any_chunking_gives_the_same_events() {
    let bytes = stream();
    let whole = follow(std::iter::once(bytes.clone())).unwrap();
    let byte_by_byte = follow(bytes.iter().map(|b| vec![*b])).unwrap();
    assert_eq!(byte_by_byte, whole);
    for sizes in [
        &[2usize, 3, 5][..],
        &[7, 13],
        &[9, 1, 31, 4],
        &[64],
        &[1000],
    ] {
        let events = follow(chunks(&bytes, sizes).into_iter()).unwrap();
        assert_eq!(events, whole, "chunks of {sizes:?}");
    }
}

#[test]
fn an_extended_header_is_skipped() {
    let mut bytes = b"AMQP\x00\x01\x00\x00".to_vec();
    let body = serde_amqp::to_vec(&End { error: None }).unwrap();
    bytes.extend(frame(0, 9, 4, &body));
    let events = follow(bytes.iter().map(|b| vec![*b])).unwrap();
    assert_eq!(
        events,
        vec![format!(
            "{:?}",
            Event::End {
                channel: 9,
                error: None
            }
        )]
    );
}

#[test]
fn garbage_is_a_clear_error_and_the_follower_stays_failed() {
    let bad_header = follow(std::iter::once(b"HTTP/1.1 200 OK\r\n".to_vec()));
    assert!(bad_header
        .unwrap_err()
        .to_string()
        .contains("protocol header"));

    let mut tiny = b"AMQP\x00\x01\x00\x00".to_vec();
    tiny.extend_from_slice(&[0, 0, 0, 4, 2, 0, 0, 0]);
    let err = follow(std::iter::once(tiny)).unwrap_err();
    assert!(err.to_string().contains("bad frame header"), "{err}");

    let mut not_described = b"AMQP\x00\x01\x00\x00".to_vec();
    not_described.extend(frame(0, 0, 2, &[0x45]));
    let err = follow(std::iter::once(not_described)).unwrap_err();
    assert!(err.to_string().contains("described"), "{err}");

    // A disposition whose list claims more bytes than the frame has.
    let mut overlong = b"AMQP\x00\x01\x00\x00".to_vec();
    overlong.extend(frame(0, 0, 2, &[0x00, 0x53, 0x15, 0xc0, 50, 2, 0x42]));
    let err = follow(std::iter::once(overlong)).unwrap_err();
    assert!(
        err.to_string().contains("past the end of its frame"),
        "{err}"
    );

    // A disposition missing its mandatory `first`.
    let mut short = b"AMQP\x00\x01\x00\x00".to_vec();
    short.extend(frame(0, 0, 2, &[0x00, 0x53, 0x15, 0xc0, 2, 1, 0x42]));
    let err = follow(std::iter::once(short)).unwrap_err();
    assert!(err.to_string().contains("mandatory"), "{err}");

    let mut follower = FrameFollower::default();
    assert!(follower.feed(b"XXXXXXXX", &mut |_| {}).is_err());
    assert!(
        follower.feed(b"AMQP\x00\x01\x00\x00", &mut |_| {}).is_err(),
        "stays failed"
    );

    // Random bytes after a good header: an error or nothing, never a panic.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..200 {
        let mut bytes = b"AMQP\x00\x01\x00\x00".to_vec();
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            bytes.push(seed as u8);
        }
        let _ = follow(std::iter::once(bytes));
    }
}
