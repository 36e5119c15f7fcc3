//! Session-enabled subscriptions of a topic. Order events are published to the topic
//! `orders` with the order id as session id; the topic copies each one to every subscription,
//! and each subscription (`billing`, `shipping`) has its own function, which sees every
//! order's events strictly in order, independently of the other subscription.
//!
//! The functions live in the library so that the tests (`tests/with_harness.rs`) link them;
//! `main.rs` runs [`host`]'s command line.

use berth::prelude::*;

/// One event of an order's life, as JSON.
#[derive(Debug, serde::Deserialize)]
struct OrderEvent {
    order_id: String,
    event: String,
    /// 1, 2, 3… within the order.
    sequence: u32,
}

#[service_bus_trigger(topic = "orders", subscription = "billing", sessions = true)]
async fn bill_order(Json(order): Json<OrderEvent>) -> Result<(), HandlerError> {
    handled("billing", &order);
    Ok(())
}

#[service_bus_trigger(topic = "orders", subscription = "shipping", sessions = true)]
async fn ship_order(Json(order): Json<OrderEvent>) -> Result<(), HandlerError> {
    handled("shipping", &order);
    Ok(())
}

/// Logs an event as handled by a subscription's function.
fn handled(subscription: &str, order: &OrderEvent) {
    tracing::info!(
        subscription,
        order_id = %order.order_id,
        event = %order.event,
        sequence = order.sequence,
        "order event handled"
    );
}

/// The host this app runs: no application state. `main` runs its command line, and the
/// tests run it with `berth_host::testing`.
pub fn host() -> berth_host::HostBuilder {
    berth_host::Host::builder()
}
