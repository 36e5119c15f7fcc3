use berth::prelude::*;

#[session_opened(function = "process")]
async fn takes_a_message(session: SessionContext, message: Message) {
    let _ = (session, message);
}

#[session_closing(function = "process")]
async fn returns_a_settlement(_session: SessionContext) -> Settlement {
    Settlement::Complete
}

#[session_closing(function = "process")]
async fn too_many(
    _a: SessionContext,
    _b: CancellationToken,
    _c: CancellationToken,
    _d: CancellationToken,
    _e: CancellationToken,
) {
}

fn main() {}
