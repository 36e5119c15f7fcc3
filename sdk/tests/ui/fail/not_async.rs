use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
fn blocking(_message: Message) {}

#[service_bus_trigger(queue = "orders")]
async unsafe fn dangerous(_message: Message) {}

fn main() {}
