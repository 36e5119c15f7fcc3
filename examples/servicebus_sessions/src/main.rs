//! The `orders-with-sessions` recipe: each customer's order steps arrive in one session
//! (session id = customer id) and are processed strictly in order, while different
//! customers are processed in parallel.

use berth::prelude::*;

/// One step of a customer's order, as JSON.
#[derive(Debug, serde::Deserialize)]
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
    tracing::info!(
        session_id = msg.session_id.as_deref().unwrap_or(""),
        message_id = msg.message_id.as_deref().unwrap_or(""),
        delivery_count = msg.delivery_count,
        customer_id = %order.customer_id,
        step = %order.step,
        sequence = order.sequence,
        "session message received"
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    berth_host::main()
}
