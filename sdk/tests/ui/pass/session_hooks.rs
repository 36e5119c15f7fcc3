// Session hooks: `SessionContext` and optionally `CancellationToken`, returning `()` or a
// `Result`; registered for the function they name.
use berth::prelude::*;
use berth::host::HookKind;

#[service_bus_trigger(queue = "orders", sessions = true)]
async fn process(_message: Message) {}

#[session_opened(function = "process")]
async fn opened(session: SessionContext) -> Result<(), HandlerError> {
    session.set_state("opened").await?;
    Ok(())
}

#[session_closing(function = "process")]
async fn closing(session: SessionContext, cancel: CancellationToken) {
    let _ = (session.session_id(), cancel.is_cancelled());
}

#[session_opened(function = "process")]
async fn no_arguments() {}

fn main() {
    let mut hooks: Vec<_> = berth::host::hook_registrations()
        .map(|h| (h.rust_path.rsplit("::").next().unwrap(), h.kind, h.function))
        .collect();
    hooks.sort();
    assert_eq!(
        hooks,
        [
            ("closing", HookKind::Closing, "process"),
            ("no_arguments", HookKind::Opened, "process"),
            ("opened", HookKind::Opened, "process"),
        ]
    );
}
