use berth::prelude::*;

#[service_bus_trigger(queue = "orders", sessions = true, queue = "invoices")]
async fn twice(_message: Message) {}

fn main() {}
