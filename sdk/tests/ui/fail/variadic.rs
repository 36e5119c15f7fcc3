use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
async fn variadic(_message: Message, ...) {}

fn main() {}
