//! Application state end to end: a host built with `Host::builder()` (`.state`,
//! `.state_with`) on its own embedded broker lends the state to handlers (session and
//! non-session triggers) and session hooks as `State<T>`; a function or hook that takes a
//! state nobody gave stops the host at start-up, naming it and the type, before any set-up
//! runs; a failing set-up stops it too.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth::prelude::*;
use berth::Message;
use berth_host::config::AppSettings;
use berth_host::servicebus::{ConnectionString, ServiceBusClient};
use berth_host::{Host, SettingMissing};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// What the functions saw, shared with the test as a state.
#[derive(Clone)]
struct Journal(Arc<watch::Sender<Vec<String>>>);

impl Journal {
    fn new() -> Self {
        Journal(Arc::new(watch::channel(Vec::new()).0))
    }

    fn push(&self, line: String) {
        self.0.send_modify(|lines| lines.push(line));
    }

    /// Waits (at most 30 s) until the journal holds `count` lines; returns them sorted.
    async fn wait_for(&self, count: usize) -> Vec<String> {
        let mut rx = self.0.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            rx.wait_for(|lines| lines.len() >= count),
        )
        .await;
        let mut lines = self.0.borrow().clone();
        assert!(
            waited.is_ok(),
            "waited 30 s for {count} journal lines, got {lines:?}"
        );
        lines.sort();
        lines
    }
}

/// Given with `.state`.
struct Greeting(&'static str);

/// Made by a `.state_with` set-up from an app setting.
struct Region(String);

/// Nobody gives it.
struct Pool;

#[service_bus_trigger(queue = "greetings", sessions = true)]
async fn greet(
    State(greeting): State<Greeting>,
    State(journal): State<Journal>,
    SessionId(session): SessionId,
    body: String,
) {
    journal.push(format!("{} {body} in {session}", greeting.0));
}

#[session_opened(function = "greet")]
async fn greet_opened(
    session: SessionContext,
    State(journal): State<Journal>,
    State(region): State<Region>,
) {
    journal.push(format!("opened {} in {}", session.session_id(), region.0));
}

#[service_bus_trigger(queue = "tallies")]
async fn tally(State(journal): State<Journal>, State(region): State<Region>, body: String) {
    journal.push(format!("tally {body} in {}", region.0));
}

#[service_bus_trigger(queue = "needs-a-pool")]
async fn wants_a_pool(State(_pool): State<Pool>, _body: String) {}

#[service_bus_trigger(queue = "hooked", sessions = true)]
async fn hooked(_body: String) {}

#[session_opened(function = "hooked")]
async fn hooked_opened(_session: SessionContext, State(_pool): State<Pool>) {}

fn settings(values: &[(&str, &str)]) -> AppSettings {
    AppSettings::default().with_env(
        values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_and_hooks_take_the_state_given_to_the_builder() {
    let journal = Journal::new();
    let host = Host::builder()
        .state(Greeting("hello"))
        .state(journal.clone())
        .state_with(|setup| async move {
            let region = setup.require_setting("Region")?.to_owned();
            // Set-ups see the state given before them.
            assert!(setup.state::<Greeting>().is_some());
            Ok::<_, SettingMissing>(Region(region))
        })
        .settings(settings(&[("Region", "north")]))
        .functions(["greet", "tally"])
        .build()
        .await
        .unwrap();
    let connection_string = host
        .embedded_connection_string()
        .expect("functions without a connection run on the embedded broker");
    let stop = CancellationToken::new();
    let running = tokio::spawn(host.run_until(stop.clone()));

    let client = ServiceBusClient::connect(ConnectionString::parse(&connection_string).unwrap())
        .await
        .unwrap();
    client
        .sender("greetings")
        .send(&Message::with_body("world").session("s1"))
        .await
        .unwrap();
    client
        .sender("tallies")
        .send(&Message::with_body("7"))
        .await
        .unwrap();
    let lines = journal.wait_for(3).await;
    assert_eq!(
        lines,
        [
            "hello world in s1",
            "opened s1 in north",
            "tally 7 in north"
        ]
    );

    stop.cancel();
    let report = tokio::time::timeout(Duration::from_secs(60), running)
        .await
        .expect("the host did not drain within 60 s")
        .unwrap();
    assert_eq!((report.failed, report.aborted), (0, 0), "{report:?}");
    client.close().await;
}

#[tokio::test]
async fn a_state_nobody_gave_stops_the_start_naming_the_function_and_the_type() {
    let set_up = Arc::new(AtomicBool::new(false));
    let flag = set_up.clone();
    let error = Host::builder()
        .state(Greeting("unused"))
        .state_with(move |_| async move {
            flag.store(true, Ordering::SeqCst);
            Ok::<_, SettingMissing>(Region("south".into()))
        })
        .functions(["wants_a_pool", "hooked"])
        .build()
        .await
        .err()
        .expect("the host must not start");
    let problems = error.problems();
    assert_eq!(problems.len(), 2, "{problems:#?}");
    let function = problems
        .iter()
        .find(|p| p.contains("function `wants_a_pool`"))
        .expect("the function is named");
    assert!(
        function.contains("takes `State<app_state::Pool>`")
            && function.contains("no state of type `app_state::Pool`")
            && function.contains("tests/app_state.rs:")
            && function.contains(".state(")
            && function.contains("app_state::Greeting")
            && function.contains("app_state::Region"),
        "{function}"
    );
    let hook = problems
        .iter()
        .find(|p| p.contains("session_opened hook"))
        .expect("the hook is named");
    assert!(
        hook.contains("hooked_opened")
            && hook.contains("function `hooked`")
            && hook.contains("`State<app_state::Pool>`"),
        "{hook}"
    );
    assert!(
        !set_up.load(Ordering::SeqCst),
        "the state is checked before any set-up runs"
    );
}

#[tokio::test]
async fn a_failing_set_up_stops_the_start_naming_the_type_and_the_error() {
    let error = Host::builder()
        .state(Journal::new())
        .state_with(|setup| async move {
            Ok::<_, SettingMissing>(Region(setup.require_setting("Region")?.to_owned()))
        })
        .functions(["tally"])
        .build()
        .await
        .err()
        .expect("the host must not start");
    let text = error.to_string();
    assert!(
        text.contains("setting up the application state `app_state::Region` failed")
            && text.contains("the app setting `Region` is not set"),
        "{text}"
    );
}
