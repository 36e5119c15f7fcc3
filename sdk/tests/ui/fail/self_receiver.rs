use berth::prelude::*;

struct Service;

impl Service {
    #[service_bus_trigger(queue = "orders")]
    async fn handle(&self, _message: Message) {}
}

fn main() {}
