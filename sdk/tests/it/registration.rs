//! `#[service_bus_trigger]` registers functions that `berth::host::registrations()` finds and
//! whose handlers run.
#![allow(clippy::unwrap_used)] // tests may unwrap

use std::sync::{Arc, Mutex};

use berth::host::{BoxFuture, MessageOps, Outcome, TriggerAttributes};
use berth::prelude::*;
use berth::{Invocation, ServiceBusError};

#[derive(serde::Deserialize)]
struct OrderStep {
    customer_id: String,
    step: String,
    sequence: u32,
}

#[service_bus_trigger(
    queue = "orders-with-sessions",
    connection = "ServiceBusConnection",
    sessions = true
)]
async fn process_session_message(
    msg: Message,
    Json(order): Json<OrderStep>,
) -> Result<(), HandlerError> {
    if msg.session_id.as_deref() != Some(order.customer_id.as_str()) {
        return Err(HandlerError::msg("session id and customer id differ"));
    }
    if order.sequence == 0 {
        return Err(HandlerError::msg(format!(
            "bad sequence for step {}",
            order.step
        )));
    }
    Ok(())
}

#[service_bus_trigger(
    topic = "%OrdersTopic%",
    subscription = "audit",
    auto_complete = false,
    name = "Audit"
)]
async fn audit(body: String, actions: MessageActions) -> Result<(), HandlerError> {
    actions.dead_letter("Audited", body).await?;
    Ok(())
}

/// Records the settlements `MessageActions` applies: the host's side of the seam.
#[derive(Default)]
struct RecordingOps {
    settled: Mutex<Vec<Settlement>>,
}

impl MessageOps for RecordingOps {
    fn settle(&self, settlement: Settlement) -> BoxFuture<'_, Result<(), ServiceBusError>> {
        self.settled.lock().unwrap().push(settlement);
        Box::pin(async { Ok(()) })
    }
}

fn invocation(function: &str, message: Message, ops: Arc<RecordingOps>) -> Invocation {
    Invocation::new(
        function.into(),
        message,
        None,
        MessageActions::new(ops),
        CancellationToken::new(),
    )
}

fn registration(name: &str) -> &'static berth::host::FunctionRegistration {
    let here = format!("{}::", module_path!());
    let found: Vec<_> = berth::host::registrations()
        .filter(|r| r.name == name && r.rust_path.starts_with(&here))
        .collect();
    assert_eq!(found.len(), 1, "registrations named {name}");
    found[0]
}

/// The 1-based line and column of the fn name in the line starting with `declaration`
/// (`async fn name`), in this file.
fn position_of(declaration: &str) -> (u32, u32) {
    let index = include_str!("registration.rs")
        .lines()
        .position(|line| line.starts_with(declaration))
        .unwrap();
    (index as u32 + 1, "async fn ".len() as u32 + 1)
}

#[test]
fn registers_both_functions_with_their_attributes() {
    let session = registration("process_session_message");
    assert_eq!(
        session.trigger,
        TriggerAttributes {
            queue: Some("orders-with-sessions"),
            topic: None,
            subscription: None,
            connection: "ServiceBusConnection",
            sessions: true,
            auto_complete: None,
            message_type: None,
            session_ids: &[],
        }
    );
    assert_eq!(
        session.rust_path,
        format!("{}::process_session_message", module_path!())
    );
    assert_eq!(session.location.file, file!());
    assert_eq!(
        (session.location.line, session.location.column),
        position_of("async fn process_session_message")
    );

    let audit = registration("Audit");
    assert_eq!(
        audit.trigger,
        TriggerAttributes {
            queue: None,
            topic: Some("%OrdersTopic%"),
            subscription: Some("audit"),
            connection: "ServiceBusConnection",
            sessions: false,
            auto_complete: Some(false),
            message_type: None,
            session_ids: &[],
        }
    );
    assert_eq!(audit.rust_path, format!("{}::audit", module_path!()));
    assert_eq!(
        (audit.location.line, audit.location.column),
        position_of("async fn audit")
    );
    let here = format!("{}::", module_path!());
    let registered_here = berth::host::registrations()
        .filter(|r| r.rust_path.starts_with(&here))
        .count();
    assert_eq!(registered_here, 2);
}

#[tokio::test]
async fn handlers_run_and_report_their_outcome() {
    let handler = (registration("process_session_message").handler)();
    assert!(!handler.needs_session());
    let ops = Arc::new(RecordingOps::default());
    let good =
        Message::with_body(r#"{"customer_id":"c1","step":"pay","sequence":1}"#).session("c1");
    let outcome = handler
        .call(&invocation("p", good, ops.clone()))
        .unwrap()
        .await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");

    let wrong =
        Message::with_body(r#"{"customer_id":"c1","step":"pay","sequence":0}"#).session("c1");
    let outcome = handler
        .call(&invocation("p", wrong, ops.clone()))
        .unwrap()
        .await;
    match outcome {
        Outcome::Failed(error) => assert_eq!(error.to_string(), "bad sequence for step pay"),
        other => panic!("expected a failure, got {other:?}"),
    }

    let invalid = Message::with_body("not json").session("c1");
    let rejection = handler
        .call(&invocation("p", invalid, ops.clone()))
        .err()
        .unwrap();
    assert_eq!(rejection.reason, "DeserializationFailed");
    assert!(ops.settled.lock().unwrap().is_empty());
}

#[tokio::test]
async fn message_actions_reach_the_host() {
    let handler = (registration("Audit").handler)();
    let ops = Arc::new(RecordingOps::default());
    let message = Message::with_body("audited body");
    let outcome = handler
        .call(&invocation("Audit", message, ops.clone()))
        .unwrap()
        .await;
    assert!(matches!(outcome, Outcome::Done), "{outcome:?}");
    assert_eq!(
        *ops.settled.lock().unwrap(),
        vec![Settlement::dead_letter("Audited", "audited body")]
    );
}
