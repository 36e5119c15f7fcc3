use berth::prelude::*;

#[service_bus_trigger(queue = "gateway", message_type = "")]
async fn empty(_message: Message) {}

#[service_bus_trigger(queue = "gateway", message_type = PingGatewayRequest)]
async fn not_a_string(_message: Message) {}

fn main() {}
