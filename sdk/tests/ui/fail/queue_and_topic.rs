use berth::prelude::*;

#[service_bus_trigger(queue = "orders", topic = "orders", subscription = "billing")]
async fn both(_message: Message) {}

#[service_bus_trigger(queue = "orders", subscription = "billing")]
async fn queue_with_subscription(_message: Message) {}

fn main() {}
