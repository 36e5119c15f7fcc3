use berth::prelude::*;

#[service_bus_trigger(queue = "orders", sesions = true)]
async fn misspelt(_message: Message) {}

#[service_bus_trigger(queue = "orders", berth::sessions = true)]
async fn path_as_key(_message: Message) {}

fn main() {}
