use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
struct Handler;

fn main() {
    let _ = Handler;
}
