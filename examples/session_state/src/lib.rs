//! Per-customer running totals kept in the session state: each customer's orders arrive in
//! one session (session id = customer id), and the totals so far live in the broker with
//! the session, as `SessionState<Totals>`, so they survive redeliveries, other instances
//! and restarts.
//!
//! - A `transient` order fails on its first delivery (`Err`): the message is abandoned, the
//!   state is left as it was, and the redelivery (delivery count 2) is counted once.
//! - An order with a negative amount can never succeed: the handler returns
//!   `HandlerError::dead_letter("InvalidOrder", …)`, so it is dead-lettered at once, without
//!   retries, and the totals do not change.
//!
//! The functions live in the library so that the tests (`tests/with_harness.rs`) link them;
//! `main.rs` runs [`host`]'s command line.

use berth::prelude::*;

/// One order, as JSON.
#[derive(Debug, serde::Deserialize)]
struct Order {
    order_id: String,
    /// In cents, so the totals are exact.
    amount_cents: i64,
    items: u32,
    /// Simulates a transient fault (a downstream timeout): fails on the first delivery.
    #[serde(default)]
    transient: bool,
}

/// What the session remembers about its customer between messages.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Totals {
    orders: u32,
    amount_cents: i64,
    items: u32,
}

#[service_bus_trigger(queue = "customer-orders", sessions = true)]
async fn add_to_totals(
    SessionId(customer): SessionId,
    DeliveryCount(delivery_count): DeliveryCount,
    Json(order): Json<Order>,
    mut totals: SessionState<Totals>,
) -> Result<(), HandlerError> {
    if order.amount_cents < 0 {
        // Retrying cannot fix this order: an error marked to dead-letter skips the retries.
        return Err(HandlerError::dead_letter(
            "InvalidOrder",
            format!(
                "order {} has a negative amount ({} cents)",
                order.order_id, order.amount_cents
            ),
        ));
    }
    if order.transient && delivery_count == 1 {
        // Returning Err abandons the message: the totals are not written, and the broker
        // delivers it again, in order, with delivery count 2.
        return Err(HandlerError::msg(format!(
            "order {}: the payment service timed out",
            order.order_id
        )));
    }
    totals.orders += 1;
    totals.amount_cents += order.amount_cents;
    totals.items += order.items;
    tracing::info!(
        customer = %customer,
        order_id = %order.order_id,
        delivery_count,
        orders = totals.orders,
        amount_cents = totals.amount_cents,
        items = totals.items,
        "totals updated"
    );
    Ok(())
}

/// The host this app runs: no application state. `main` runs its command line, and the
/// tests run it with `berth_host::testing`.
pub fn host() -> berth_host::HostBuilder {
    berth_host::Host::builder()
}
