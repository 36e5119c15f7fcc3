use berth::prelude::*;

#[service_bus_trigger(topic = "orders")]
async fn topic_only(_message: Message) {}

#[service_bus_trigger(subscription = "billing")]
async fn subscription_only(_message: Message) {}

fn main() {}
