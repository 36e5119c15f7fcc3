// A `#[cfg]` below the attribute removes the registration along with the function.
use berth::prelude::*;

#[service_bus_trigger(queue = "kept")]
#[cfg(all())]
async fn kept(_message: Message) {}

#[service_bus_trigger(queue = "removed")]
#[cfg(any())]
async fn removed(_message: Message) {}

fn main() {
    let names: Vec<_> = berth::host::registrations().map(|r| r.name).collect();
    assert_eq!(names, ["kept"]);
}
