//! The `orders-with-sessions` recipe: each customer's order steps arrive in one session
//! (session id = customer id) and are processed strictly in order, while different
//! customers are processed in parallel.
//!
//! The functions live in the library so that the tests (`tests/it/with_harness.rs`) link them;
//! `main.rs` runs [`host`]'s command line.

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
    // The host's span already carries function, session_id, message_id and delivery_count.
    tracing::info!(
        customer_id = %order.customer_id,
        step = %order.step,
        sequence = order.sequence,
        "session message received"
    );
    if msg.session_id.as_deref() != Some(order.customer_id.as_str()) {
        tracing::warn!(customer_id = %order.customer_id, "an order step arrived in another customer's session");
    }
    Ok(())
}

/// The host this app runs: no application state. `main` runs its command line, and the
/// tests run it with `berth_host::testing`.
pub fn host() -> berth_host::HostBuilder {
    berth_host::Host::builder()
}
