// Every kind of extractor, sixteen arguments in all, with patterns and `mut`.
use berth::prelude::*;

#[derive(serde::Deserialize)]
struct Order {
    id: u64,
}

#[derive(serde::Deserialize)]
struct Point(i32, i32);

#[service_bus_trigger(queue = "everything", sessions = true)]
#[allow(clippy::too_many_arguments)]
async fn everything(
    message: Message,
    Json(order): Json<Order>,
    Json(Point(x, y)): Json<Point>,
    Body(bytes): Body,
    mut text: String,
    session_id: SessionId,
    DeliveryCount(count): DeliveryCount,
    ApplicationProperties(properties): ApplicationProperties,
    session: SessionContext,
    actions: MessageActions,
    cancellation: CancellationToken,
    _again: Message,
    _: Json<serde_json::Value>,
    berth::SessionId(raw_session_id): berth::SessionId,
    _body_again: berth::Body,
    _count_again: DeliveryCount,
) -> Result<Settlement, HandlerError> {
    text.push_str(&session_id.to_string());
    let _ = (message, order.id, x + y, bytes, count, properties, raw_session_id);
    let _ = (session.session_id(), actions.is_settled(), cancellation.is_cancelled());
    Ok(Settlement::Complete)
}

fn main() {
    let handler = (berth::host::registrations().next().unwrap().handler)();
    assert!(handler.needs_session());
}
