use berth::prelude::*;

#[service_bus_trigger(queue = "%OrdersQueue")]
async fn unbalanced(_message: Message) {}

#[service_bus_trigger(topic = "orders-%%", subscription = "billing")]
async fn empty_expression(_message: Message) {}

#[service_bus_trigger(queue = "orders", connection = "")]
async fn empty_string(_message: Message) {}

fn main() {}
