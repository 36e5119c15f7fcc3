use berth::prelude::*;

struct Order {
    id: u64,
}

#[service_bus_trigger(queue = "orders")]
async fn takes_a_number(count: u64) {
    let _ = count;
}

#[service_bus_trigger(queue = "orders")]
async fn takes_a_plain_struct(msg: Message, order: Order) -> Result<(), HandlerError> {
    let _ = (msg, order.id);
    Ok(())
}

fn main() {}
