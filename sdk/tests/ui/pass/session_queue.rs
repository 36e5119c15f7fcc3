// The example from the documentation: a session queue, the whole message and a JSON body.
use berth::prelude::*;

#[derive(serde::Deserialize)]
struct OrderStep {
    customer_id: String,
    step: String,
    sequence: u32,
}

#[service_bus_trigger(queue = "orders-with-sessions", connection = "ServiceBusConnection", sessions = true)]
async fn process_session_message(
    msg: Message,
    Json(order): Json<OrderStep>,
) -> Result<(), HandlerError> {
    let _ = (msg.session_id, order.customer_id, order.step, order.sequence);
    Ok(())
}

fn main() {
    let registration = berth::host::registrations().next().unwrap();
    assert_eq!(registration.name, "process_session_message");
    assert_eq!(registration.trigger.queue, Some("orders-with-sessions"));
    assert!(registration.trigger.sessions);
}
