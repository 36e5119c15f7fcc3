use std::time::Duration;

use fe2o3_amqp_types::definitions::ErrorCondition;
use fe2o3_amqp_types::messaging::{Accepted, DeliveryState, Rejected};
use fe2o3_amqp_types::primitives::Symbol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::servicebus::verdict::VerdictTap;

const SHORT: Duration = Duration::from_secs(5);

fn attached(verdicts: &Arc<Verdicts>, name: &str, channel: u16, handle: u32) -> LinkWatch {
    let watch = verdicts.watch(name);
    verdicts.on_event(Event::Attach {
        channel,
        name,
        handle,
        receiver: false,
    });
    watch
}

fn settle(verdicts: &Verdicts, channel: u16, first: u32, last: u32, state: &[u8]) {
    verdicts.on_event(Event::Disposition {
        channel,
        receiver: false,
        first,
        last,
        settled: true,
        state: Some(state),
    });
}

fn lock_lost() -> Vec<u8> {
    serde_amqp::to_vec(&definitions::Error::new(
        ErrorCondition::Custom(Symbol::from(errors::SESSION_LOCK_LOST)),
        Some("expired".to_string()),
        None,
    ))
    .unwrap()
}

#[tokio::test]
async fn a_disposition_range_answers_its_waiters_and_nothing_is_left() {
    let verdicts = Arc::new(Verdicts::default());
    let watch = attached(&verdicts, "link-a", 3, 1);
    let other = attached(&verdicts, "link-b", 4, 0);
    let first = watch.expect(40).unwrap();
    let second = watch.expect(42).unwrap();
    let elsewhere = other.expect(41).unwrap();
    let accepted = serde_amqp::to_vec(&DeliveryState::Accepted(Accepted {})).unwrap();
    settle(&verdicts, 3, 40, 42, &accepted);
    assert!(matches!(first.wait(SHORT).await, Verdict::Accepted));
    assert!(matches!(second.wait(SHORT).await, Verdict::Accepted));
    assert_eq!(verdicts.held(), (2, 1), "the other channel's waiter stays");
    let rejected = serde_amqp::to_vec(&DeliveryState::Rejected(Rejected {
        error: serde_amqp::from_slice(&lock_lost()).ok(),
    }))
    .unwrap();
    settle(&verdicts, 4, 41, 41, &rejected);
    match elsewhere.wait(SHORT).await {
        Verdict::Rejected(Some(e)) => {
            assert_eq!(
                errors::condition_name(&e.condition),
                errors::SESSION_LOCK_LOST
            )
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    drop((watch, other));
    assert_eq!(verdicts.held(), (0, 0));
}

#[tokio::test]
async fn a_range_that_wraps_past_the_largest_delivery_id_is_followed() {
    let verdicts = Arc::new(Verdicts::default());
    let watch = attached(&verdicts, "link", 0, 0);
    let (high, low) = (watch.expect(u32::MAX).unwrap(), watch.expect(1).unwrap());
    let accepted = serde_amqp::to_vec(&DeliveryState::Accepted(Accepted {})).unwrap();
    settle(&verdicts, 0, u32::MAX - 1, 1, &accepted);
    assert!(matches!(high.wait(SHORT).await, Verdict::Accepted));
    assert!(matches!(low.wait(SHORT).await, Verdict::Accepted));
}

#[tokio::test]
async fn a_detach_fails_its_waiters_with_the_brokers_error_and_later_waits_too() {
    let verdicts = Arc::new(Verdicts::default());
    let watch = attached(&verdicts, "link", 2, 7);
    let waiting = watch.expect(5).unwrap();
    let error = lock_lost();
    verdicts.on_event(Event::Detach {
        channel: 2,
        handle: 7,
        error: Some(&error),
    });
    match waiting.wait(SHORT).await {
        Verdict::Failed(e) => assert_eq!(e.kind, ErrorKind::SessionLockLost, "{e}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    let later = watch.expect(6).err().unwrap();
    assert_eq!(later.kind, ErrorKind::SessionLockLost);
    drop(watch);
    assert_eq!(verdicts.held(), (0, 0));
}

#[tokio::test]
async fn an_end_without_error_fails_the_sessions_waiters_as_unknown() {
    let verdicts = Arc::new(Verdicts::default());
    let watch = attached(&verdicts, "link", 2, 7);
    let waiting = watch.expect(5).unwrap();
    verdicts.on_event(Event::End {
        channel: 2,
        error: None,
    });
    match waiting.wait(SHORT).await {
        Verdict::Failed(e) => {
            assert_eq!(e.kind, ErrorKind::Connection);
            assert!(e.message.contains("may or may not"), "{e}");
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_dropped_wait_is_withdrawn_and_an_unanswered_one_times_out() {
    let verdicts = Arc::new(Verdicts::default());
    let watch = attached(&verdicts, "link", 1, 1);
    drop(watch.expect(9).unwrap());
    assert_eq!(verdicts.held(), (1, 0));
    let unanswered = watch.expect(10).unwrap();
    match unanswered.wait(Duration::from_millis(20)).await {
        Verdict::Failed(e) => assert_eq!(e.kind, ErrorKind::Timeout),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(verdicts.held(), (1, 0));
    let before_attach = verdicts.watch("not-yet");
    assert!(before_attach.expect(1).is_err());
}

#[tokio::test]
async fn the_tap_passes_bytes_through_and_a_closed_stream_fails_every_wait() {
    let verdicts = Arc::new(Verdicts::default());
    let (ours, mut broker) = tokio::io::duplex(64);
    let mut tap = VerdictTap::new(ours, verdicts.clone());
    let watch = verdicts.watch("link");
    let mut bytes = b"AMQP\x00\x01\x00\x00".to_vec();
    // attach(name "link", handle 0, role sender), hand-encoded.
    let attach = [
        0x00, 0x53, 0x12, 0xc0, 9, 3, 0xa1, 4, b'l', b'i', b'n', b'k', 0x43, 0x42,
    ];
    bytes.extend_from_slice(&(8 + attach.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&[2, 0, 0, 6]);
    bytes.extend_from_slice(&attach);
    broker.write_all(&bytes).await.unwrap();
    let mut seen = vec![0u8; bytes.len()];
    tap.read_exact(&mut seen).await.unwrap();
    assert_eq!(seen, bytes, "passed through unchanged");
    let waiting = watch.expect(0).unwrap();
    drop(broker);
    let mut rest = Vec::new();
    tap.read_to_end(&mut rest).await.unwrap();
    match waiting.wait(SHORT).await {
        Verdict::Failed(e) => assert_eq!(e.kind, ErrorKind::Connection, "{e}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(watch.expect(1).is_err(), "the connection is gone");
}

/// Found by the `verdict_stream` fuzz target: serde_amqp trusts size fields, and a `map8` of
/// size 0 as a detach error's `info` made it subtract with overflow — a panic in the host's
/// read path on the broker's bytes. Such bytes are now refused before decoding: the link
/// fails as detached without a readable error, the verdict as undecodable.
#[test]
fn malformed_errors_and_states_from_the_broker_fail_the_wait_without_panicking() {
    // error { condition: :x, description: null, info: map8 of size 0 }
    let error = [
        0x00, 0x53, 0x1d, 0xc0, 0x08, 0x03, 0xa3, 0x01, b'x', 0x40, 0xc1, 0x00, 0x00,
    ];
    let why = ended(Some(&error), "the broker detached the link");
    assert_eq!(why.kind, ErrorKind::Connection, "{why}");
    // rejected { error }
    let rejected = [&[0x00, 0x53, 0x25, 0xc0, 0x0e, 0x01][..], &error].concat();
    let Verdict::Failed(e) = decode_state(Some(&rejected)) else {
        panic!("a malformed state is no verdict");
    };
    assert!(e.to_string().contains("could not be decoded"), "{e}");
}
