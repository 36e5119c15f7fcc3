use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
async fn returns_a_number(_message: Message) -> u64 {
    1
}

#[service_bus_trigger(queue = "orders")]
async fn returns_a_result_of_a_number(_message: Message) -> Result<u64, HandlerError> {
    Ok(1)
}

fn main() {}
