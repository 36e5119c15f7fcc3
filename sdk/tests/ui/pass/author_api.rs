// The author API of issue 12: `anyhow::Result` as a return type, `?` on any error shape,
// errors that dead-letter at once, and optional extraction.
use berth::prelude::*;

#[derive(serde::Deserialize)]
struct Order {
    quantity: String,
}

#[service_bus_trigger(queue = "anyhow")]
async fn returns_anyhow(body: String) -> anyhow::Result<()> {
    anyhow::ensure!(!body.is_empty(), "empty body");
    Ok(())
}

#[service_bus_trigger(queue = "question-mark")]
async fn uses_question_mark(Json(order): Json<Order>) -> Result<(), HandlerError> {
    let _: u32 = order.quantity.parse().dead_letter_on_err("InvalidQuantity")?;
    let _: u32 = order.quantity.parse().map_err(anyhow::Error::from)?;
    let boxed: Box<dyn std::error::Error + Send + Sync> = "boxed".into();
    Err(boxed)?
}

#[service_bus_trigger(queue = "optional", sessions = true)]
async fn optional(
    order: Option<Json<Order>>,
    decided: Result<Json<Order>, Rejection>,
    session: Option<SessionContext>,
) -> Result<Settlement, HandlerError> {
    let _ = (order.is_some(), session.is_some());
    let Json(order) = decided?;
    Ok(Settlement::dead_letter("Seen", order.quantity))
}

#[session_opened(function = "optional")]
async fn opened(_session: SessionContext) -> anyhow::Result<()> {
    Ok(())
}

fn main() {
    assert_eq!(berth::host::registrations().count(), 3);
    assert_eq!(berth::host::hook_registrations().count(), 1);
}
