//! The write-back rule of `SessionState`: the value held when the handler returns is saved;
//! one that outlives the handler is reported, never lost silently.

use super::*;
use crate::message::Message;
use crate::test_support::invocation;

#[derive(Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
struct Totals {
    orders: u32,
}

fn extract(slot: &Arc<StateSlot>) -> SessionState<Totals> {
    let invocation = invocation(Message::with_body("x")).with_state_slot(slot.clone());
    SessionState::<Totals>::from_invocation(&invocation).unwrap()
}

fn saved(slot: &StateSlot) -> Totals {
    let bytes = slot.take_written().expect("nothing was written").unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_value_held_when_the_handler_returns_is_written() {
    let slot = StateSlot::new(Some(Bytes::from_static(br#"{"orders": 2}"#)));
    let mut totals = extract(&slot);
    assert_eq!(totals.orders, 2);
    totals.orders += 1;
    drop(totals);
    assert!(slot.outlived().is_none());
    assert_eq!(saved(&slot), Totals { orders: 3 });
}

#[test]
fn a_session_without_state_starts_from_the_default() {
    let slot = StateSlot::new(None);
    let mut totals = extract(&slot);
    totals.set(Totals { orders: 9 });
    drop(totals);
    assert_eq!(saved(&slot), Totals { orders: 9 });
}

#[test]
fn an_invalid_state_is_rejected() {
    let slot = StateSlot::new(Some(Bytes::from_static(b"[1, 2]")));
    let invocation = invocation(Message::with_body("x")).with_state_slot(slot.clone());
    let rejection = SessionState::<Totals>::from_invocation(&invocation).unwrap_err();
    assert_eq!(rejection.reason, "SessionStateInvalid");
    assert!(slot.outlived().is_none(), "a rejected state is not out");
}

#[test]
fn a_state_moved_into_a_spawned_task_is_reported_and_not_written() {
    let slot = StateSlot::new(None);
    let mut totals = extract(&slot);
    let (release, released) = std::sync::mpsc::channel::<()>();
    let task = std::thread::spawn(move || {
        totals.orders += 1;
        released.recv().unwrap();
        drop(totals);
    });
    // The handler has returned; the state is still held by the task.
    let error = slot
        .outlived()
        .expect("the outliving state must be reported");
    let text = error.to_string();
    assert!(
        text.contains("`SessionState<Totals>` outlived the handler"),
        "{text}"
    );
    assert_eq!(
        slot.take_written(),
        None,
        "nothing is saved while it is out"
    );
    release.send(()).unwrap();
    task.join().unwrap();
    assert!(slot.outlived().is_none());
}

#[test]
fn a_state_that_cannot_be_serialized_reports_why() {
    struct Unserializable;
    impl Serialize for Unserializable {
        fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(serde::ser::Error::custom("no way"))
        }
    }
    let slot = StateSlot::new(None);
    drop(SessionState {
        value: Unserializable,
        slot: slot.clone(),
    });
    let error = slot.take_written().unwrap().unwrap_err();
    assert!(error.contains("no way"), "{error}");
}
