//! The test harness itself (`berth_host::testing`, the `testing` feature): a failing wait
//! says what it waited for and lists what it saw; `.only` runs only the functions named
//! (and refuses a name nobody registered); what a handler settles itself, what it sends
//! through a client in its state, its session state, and the in-order retries of a
//! non-session trigger (with `host.toml`'s retry policy) are all visible to the test.
//!
//! A binary of its own, not a module of `it`: the harness resolves every function
//! registered in its binary, as `host start` does, and `it` registers conflicting names on
//! purpose (the registry tests).
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use berth::prelude::*;
use berth::Message;
use berth_host::config::parse_host_config;
use berth_host::servicebus::{ConnectionString, Sender, ServiceBusClient};
use berth_host::testing::{TestHost, TestMessage};

#[service_bus_trigger(queue = "harness-steps", sessions = true)]
async fn harness_steps(body: String) -> Result<(), HandlerError> {
    match body.as_str() {
        "bad" => Err(HandlerError::dead_letter("BadStep", "the step is `bad`")),
        _ => Ok(()),
    }
}

#[service_bus_trigger(queue = "harness-other", sessions = true)]
async fn harness_other(_body: String) {}

#[service_bus_trigger(queue = "harness-deferred", sessions = true, auto_complete = false)]
async fn harness_defers(actions: MessageActions) -> Result<(), HandlerError> {
    actions.defer(Default::default()).await?;
    Ok(())
}

/// Where `harness_forwards` sends: a client of the app's own connection setting.
struct Outbox(Sender);

#[service_bus_trigger(queue = "harness-inbox")]
async fn harness_forwards(State(outbox): State<Outbox>, body: String) -> Result<(), HandlerError> {
    let forwarded = Message::with_body(format!("seen: {body}")).id(format!("fwd-{body}"));
    outbox.0.send(&forwarded).await?;
    Ok(())
}

#[derive(Default, serde::Serialize, serde::Deserialize)]
struct Count {
    seen: u32,
}

#[service_bus_trigger(queue = "harness-counts", sessions = true)]
async fn harness_counts(mut count: SessionState<Count>) {
    count.seen += 1;
}

#[service_bus_trigger(queue = "harness-flaky")]
async fn harness_flaky(body: String) -> Result<(), HandlerError> {
    Err(HandlerError::msg(format!("`{body}` failed again")))
}

#[tokio::test]
async fn a_failing_wait_says_what_it_waited_for_and_what_it_saw() {
    let mut app = TestHost::builder()
        .only(["harness_steps"])
        .timeout(Duration::from_secs(2))
        .start()
        .await
        .unwrap();
    app.send_to(
        "harness-steps",
        TestMessage::text("one").session("s1").id("m-1"),
    )
    .await
    .unwrap();
    app.wait_settled(1).await.unwrap();

    let error = app.wait_settled(2).await.unwrap_err().to_string();
    for expected in [
        "waited for 2 deliveries settled for good",
        "timed out after 2s",
        "functions running: harness_steps",
        "1 delivery done with",
        "harness_steps session s1 message m-1 #1 (delivery 1): complete",
    ] {
        assert!(error.contains(expected), "`{expected}` not in: {error}");
    }

    app.stop().await.unwrap();
    let error = app.wait_settled(2).await.unwrap_err().to_string();
    assert!(
        error.contains("the host was stopped"),
        "a wait after the stop fails at once, saying so: {error}"
    );
}

#[tokio::test]
async fn only_runs_the_functions_named() {
    let mut app = TestHost::builder()
        .only(["harness_steps"])
        .session_queue("harness-other")
        .start()
        .await
        .unwrap();
    // Sent first: were `harness_other` running, it would take this one too.
    app.send_to(
        "harness-other",
        TestMessage::text("x").session("o1").id("other-1"),
    )
    .await
    .unwrap();
    let ids = app
        .send_all(
            "harness-steps",
            ["a", "bad", "c"].map(|b| TestMessage::text(b).session("s1")),
        )
        .await
        .unwrap();
    assert_eq!(
        ids,
        ["test-1", "test-2", "test-3"],
        "ids given in send order"
    );
    app.wait_settled(3).await.unwrap();
    app.stop().await.unwrap();

    let s1 = app.invocations("harness_steps", "s1");
    assert_eq!(s1.message_ids(), ["test-1", "test-2", "test-3"]);
    assert_eq!(s1.settlements(), ["complete", "dead_letter", "complete"]);
    assert_eq!(s1[1].dead_letter(), Some(("BadStep", "the step is `bad`")));
    assert!(app.invocations_of("harness_other").is_empty());
    assert_eq!(app.reports().len(), 3, "{:?}", app.reports());
    let waiting = app.peek("harness-other").await.unwrap();
    assert_eq!(waiting.len(), 1, "the other queue's message is untouched");
    assert_eq!(waiting[0].message_id.as_deref(), Some("other-1"));
    let dead = app.dead_letters("harness-steps").await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id.as_deref(), Some("test-2"));
    assert_eq!(dead[0].dead_letter_reason.as_deref(), Some("BadStep"));
    assert_eq!(
        dead[0].dead_letter_error_description.as_deref(),
        Some("the step is `bad`")
    );
}

#[tokio::test]
async fn only_refuses_a_function_nobody_registered() {
    let error = TestHost::builder()
        .only(["harness_stpes"])
        .start()
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(error.contains("harness_stpes"), "{error}");
}

#[tokio::test]
async fn what_a_handler_settles_itself_is_reported() {
    let mut app = TestHost::builder()
        .only(["harness_defers"])
        .start()
        .await
        .unwrap();
    app.send_to("harness-deferred", TestMessage::text("later").session("d1"))
        .await
        .unwrap();
    app.wait_settled(1).await.unwrap();
    let seen = app.invocations("harness_defers", "d1");
    assert_eq!(seen.settlements(), ["defer"]);
    assert!(seen[0].settled_by_handler);
    let deferred = app.peek("harness-deferred").await.unwrap();
    assert_eq!(deferred.len(), 1, "the deferred message stays in the queue");
    app.stop().await.unwrap();
}

#[tokio::test]
async fn messages_a_function_sends_are_in_the_broker() {
    let mut app = TestHost::builder()
        .only(["harness_forwards"])
        .queue("harness-outbox")
        .state_with(|setup| async move {
            let text = setup.require_setting("ServiceBusConnection")?;
            let client = ServiceBusClient::new(ConnectionString::parse(text)?);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Outbox(
                client.sender("harness-outbox"),
            ))
        })
        .start()
        .await
        .unwrap();
    app.send_all("harness-inbox", ["a", "b"].map(TestMessage::text))
        .await
        .unwrap();
    app.wait_settled(2).await.unwrap();
    let sent = app.peek("harness-outbox").await.unwrap();
    let mut bodies: Vec<_> = sent.iter().map(|m| m.body_str().unwrap()).collect();
    bodies.sort_unstable();
    assert_eq!(bodies, ["seen: a", "seen: b"]);
    app.stop().await.unwrap();
}

#[tokio::test]
async fn session_state_is_read_from_the_broker() {
    let mut app = TestHost::builder()
        .only(["harness_counts"])
        .start()
        .await
        .unwrap();
    for session in ["x", "x", "y", "x"] {
        app.send_to("harness-counts", TestMessage::text("+1").session(session))
            .await
            .unwrap();
    }
    app.wait_settled(4).await.unwrap();
    let count = |s| {
        app.session_state_json::<Count>("harness-counts", s)
            .unwrap()
            .map(|c| c.seen)
    };
    assert_eq!(
        (count("x"), count("y"), count("z")),
        (Some(3), Some(1), None)
    );
    app.stop().await.unwrap();
    let after_stop = app
        .session_state_json::<Count>("harness-counts", "x")
        .unwrap();
    assert_eq!(
        after_stop.map(|c| c.seen),
        Some(3),
        "readable after the stop"
    );
}

#[tokio::test]
async fn retries_in_place_are_one_delivery_with_its_attempts() {
    let config = parse_host_config(
        "[functions.harness_flaky.retry]\nmax_attempts = 3\ninitial_delay = \"10ms\"\n",
        "host.toml",
    )
    .unwrap();
    let mut app = TestHost::builder()
        .only(["harness_flaky"])
        .config(config)
        .start()
        .await
        .unwrap();
    app.send_to("harness-flaky", TestMessage::text("x").id("f-1"))
        .await
        .unwrap();
    app.wait_settled(1).await.unwrap();
    let seen = app.invocations_of("harness_flaky");
    assert_eq!(seen.len(), 1, "one delivery, retried in place: {seen:?}");
    assert_eq!(seen[0].attempts, 3);
    assert_eq!(seen[0].delivery_count, 1);
    assert_eq!(seen[0].error.as_deref(), Some("`x` failed again"));
    let (reason, description) = seen[0].dead_letter().unwrap();
    assert_eq!(reason, "MaxRetriesExceeded");
    assert!(description.contains("3 of 3 attempts"), "{description}");
    assert_eq!(seen[0].session_id, None);
    assert_eq!(seen[0].entity, "harness-flaky");
    app.stop().await.unwrap();
}
