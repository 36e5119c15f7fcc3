//! Malformed and unsupported input, written byte by byte: every case closes only the
//! offending connection, with the right AMQP condition, and never panics.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns

use crate::amqp_support;

use amqp_support::{
    raw::{
        attach, begin, frame, link_flow, raw_frame, transfer, RawClient, AMQP_HEADER, SASL_HEADER,
    },
    TestBroker,
};
use berth_emulator::amqp::ConnectionConfig;
use fe2o3_amqp_types::{definitions::Role, performatives::Performative};

/// Opens a connection, goes as far as `setup` says (0: open, 1: + session, 2: + a
/// sender link on handle 0), writes `bad` and returns the close condition.
async fn closed_with(port: u16, setup: u8, bad: Vec<u8>) -> (String, String) {
    let (mut c, _) = RawClient::opened(port, None).await;
    if setup >= 1 {
        c.write(&frame(0, &begin(), &[])).await;
        assert!(matches!(c.next().await, Some((Performative::Begin(_), _))));
    }
    if setup >= 2 {
        c.write(&frame(0, &attach("s", 0, Role::Sender, "in"), &[]))
            .await;
        assert!(matches!(c.next().await, Some((Performative::Attach(_), _))));
    }
    c.write(&bad).await;
    let closed = c.expect_close().await;
    assert!(
        c.read_frame().await.is_none(),
        "the transport is dropped after close"
    );
    closed
}

#[tokio::test]
async fn malformed_frames_close_the_connection_with_the_right_condition() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let port = broker.listener.local_addr().port();
    let cases: Vec<(&str, u8, Vec<u8>, &str)> = vec![
        (
            "unknown performative",
            0,
            raw_frame(0, 0, &[0x00, 0x53, 0x99, 0x45]),
            "amqp:decode-error",
        ),
        (
            "not a described type",
            0,
            raw_frame(0, 0, &[0xff, 0x01, 0x02]),
            "amqp:decode-error",
        ),
        (
            "truncated list",
            0,
            raw_frame(0, 0, &[0x00, 0x53, 0x11, 0xc0, 0x10, 0x05, 0x43]),
            "amqp:connection:framing-error",
        ),
        (
            "attach with a wrong field type",
            1,
            raw_frame(0, 0, &[0x00, 0x53, 0x12, 0xc0, 0x03, 0x02, 0x43, 0x43]),
            "amqp:decode-error",
        ),
        (
            "frame larger than max-frame-size",
            0,
            vec![0x10, 0, 0, 0, 2, 0, 0, 0],
            "amqp:connection:framing-error",
        ),
        (
            "data offset below 2",
            0,
            vec![0, 0, 0, 8, 1, 0, 0, 0],
            "amqp:connection:framing-error",
        ),
        (
            "unknown frame type",
            0,
            raw_frame(7, 0, &[0x00]),
            "amqp:connection:framing-error",
        ),
        (
            "frame on a channel without session",
            0,
            frame(3, &link_flow(0, None, 1, false), &[]),
            "amqp:not-allowed",
        ),
        (
            "transfer on a never attached handle",
            1,
            frame(0, &transfer(9, 0, b"x"), b"p"),
            "amqp:not-allowed",
        ),
        (
            "tag longer than 32 bytes",
            2,
            frame(0, &transfer(0, 0, &[1u8; 40]), b"p"),
            "amqp:decode-error",
        ),
    ];
    for (what, session, bad, condition) in cases {
        let (got, description) = closed_with(port, session, bad).await;
        assert_eq!(got, condition, "{what}: {description}");
        assert!(!description.is_empty(), "{what}");
    }
}

#[tokio::test]
async fn frames_before_open_get_an_open_then_a_close() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let mut c = RawClient::connect(broker.listener.local_addr().port()).await;
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(frame(0, &begin(), &[]));
    c.write(&bytes).await;
    assert_eq!(c.read_header().await, Some(AMQP_HEADER));
    assert!(matches!(c.next().await, Some((Performative::Open(_), _))));
    assert_eq!(c.expect_close().await.0, "amqp:not-allowed");
}

#[tokio::test]
async fn unsupported_headers_are_answered_with_ours_then_dropped() {
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let port = broker.listener.local_addr().port();
    for (sent, answer) in [
        (&b"AMQP\x02\x01\x00\x00"[..], SASL_HEADER),
        (b"GET / HTTP/1.1\r\n", AMQP_HEADER),
        (b"AMQP\x00\x02\x00\x00", AMQP_HEADER),
    ] {
        let mut c = RawClient::connect(port).await;
        c.write(sent).await;
        assert_eq!(c.read_header().await, Some(answer));
        assert!(c.read_frame().await.is_none());
    }
}

#[tokio::test]
async fn unknown_sasl_mechanisms_fail_with_an_auth_outcome() {
    use fe2o3_amqp_types::sasl::{SaslInit, SaslOutcome};
    let broker = TestBroker::start(ConnectionConfig::default()).await;
    let mut c = RawClient::connect(broker.listener.local_addr().port()).await;
    let init = SaslInit {
        mechanism: "MSSBCBS".into(),
        initial_response: None,
        hostname: None,
    };
    let mut bytes = SASL_HEADER.to_vec();
    bytes.extend(raw_frame(1, 0, &serde_amqp::to_vec(&init).unwrap()));
    c.write(&bytes).await;
    assert_eq!(c.read_header().await, Some(SASL_HEADER));
    let Some(amqp_support::raw::Received::Other(1, mechanisms)) = c.read_frame().await else {
        panic!("no mechanisms")
    };
    let text = String::from_utf8_lossy(&mechanisms);
    assert!(
        text.contains("ANONYMOUS") && text.contains("PLAIN"),
        "{text}"
    );
    let Some(amqp_support::raw::Received::Other(1, outcome)) = c.read_frame().await else {
        panic!("no outcome")
    };
    let outcome: SaslOutcome = serde_amqp::from_slice(&outcome).unwrap();
    assert_eq!(outcome.code as u8, 1, "auth failure");
    assert!(c.read_frame().await.is_none());
}
