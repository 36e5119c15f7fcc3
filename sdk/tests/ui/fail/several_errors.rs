// Every mistake is reported at once, and the function is still emitted: `main` can call it.
use berth::prelude::*;

#[service_bus_trigger(queue = "orders", sessions = "yes")]
fn handle<T>(value: T) -> T {
    value
}

fn main() {
    let _: u8 = handle(1u8);
}
