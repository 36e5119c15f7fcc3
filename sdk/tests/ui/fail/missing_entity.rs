use berth::prelude::*;

#[service_bus_trigger(connection = "ServiceBusConnection", sessions = true)]
async fn nowhere(_message: Message) {}

#[service_bus_trigger]
async fn no_arguments(_message: Message) {}

fn main() {}
