// Every supported return type.
use berth::prelude::*;

#[derive(Debug)]
struct Invalid;

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("invalid")
    }
}

impl std::error::Error for Invalid {}

#[service_bus_trigger(queue = "unit")]
async fn returns_unit(_message: Message) {}

#[service_bus_trigger(queue = "explicit-unit")]
async fn returns_explicit_unit(_message: Message) -> () {}

#[service_bus_trigger(queue = "settlement")]
async fn returns_settlement(_message: Message) -> Settlement {
    Settlement::defer()
}

#[service_bus_trigger(queue = "result-settlement")]
async fn returns_result_of_settlement(body: String) -> Result<Settlement, Invalid> {
    if body.is_empty() {
        return Err(Invalid);
    }
    Ok(Settlement::dead_letter("Rejected", body))
}

#[service_bus_trigger(queue = "std-result")]
async fn returns_std_result(body: String) -> std::result::Result<(), std::io::Error> {
    let _ = body;
    Ok(())
}

fn main() {
    assert_eq!(berth::host::registrations().count(), 5);
}
