// No arguments, no return type, default connection, a raw identifier as the name.
use berth::prelude::*;

#[service_bus_trigger(queue = "pings")]
async fn r#type() {}

fn main() {
    let registration = berth::host::registrations().next().unwrap();
    assert_eq!(registration.name, "type");
    assert_eq!(registration.trigger.connection, "ServiceBusConnection");
    assert_eq!(registration.trigger.auto_complete, None);
    assert!(!registration.trigger.sessions);
}
