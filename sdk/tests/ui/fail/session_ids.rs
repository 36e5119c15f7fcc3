use berth::prelude::*;

#[service_bus_trigger(queue = "gateway", session_ids = ["gw-1"])]
async fn without_sessions(_message: Message) {}

#[service_bus_trigger(queue = "gateway", sessions = true, session_ids = "gw-1")]
async fn not_a_list(_message: Message) {}

#[service_bus_trigger(queue = "gateway", sessions = true, session_ids = ["gw-1", 2])]
async fn not_a_string(_message: Message) {}

#[service_bus_trigger(queue = "gateway", sessions = true, session_ids = [])]
async fn empty(_message: Message) {}

#[service_bus_trigger(queue = "gateway", sessions = true, session_ids = ["gw-1", "%Gw", "gw-1"])]
async fn repeated_and_malformed(_message: Message) {}

fn main() {}
