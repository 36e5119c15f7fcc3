use berth::prelude::*;

const ORDERS: &str = "orders";

#[service_bus_trigger(queue = "orders", sessions = "yes")]
async fn string_for_bool(_message: Message) {}

#[service_bus_trigger(queue = 5, auto_complete = 1)]
async fn numbers(_message: Message) {}

#[service_bus_trigger(queue = ORDERS)]
async fn constant(_message: Message) {}

#[service_bus_trigger(queue = "orders", sessions)]
async fn key_without_value(_message: Message) {}

fn main() {}
