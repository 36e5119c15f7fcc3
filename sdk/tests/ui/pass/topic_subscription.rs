// A topic subscription, with every optional key and binding expressions.
use berth::prelude::*;

#[service_bus_trigger(
    topic = "%OrdersTopic%",
    subscription = "%Env%-billing",
    connection = "%BusConnectionSetting%",
    sessions = false,
    auto_complete = false,
    name = "Billing"
)]
async fn bill(body: Body, actions: MessageActions) -> Result<(), HandlerError> {
    actions.complete().await?;
    let _ = body.0.len();
    Ok(())
}

fn main() {
    let registration = berth::host::registrations().next().unwrap();
    assert_eq!(registration.name, "Billing");
    assert_eq!(registration.trigger.topic, Some("%OrdersTopic%"));
    assert_eq!(registration.trigger.subscription, Some("%Env%-billing"));
    assert_eq!(registration.trigger.connection, "%BusConnectionSetting%");
    assert_eq!(registration.trigger.auto_complete, Some(false));
    assert!(registration.rust_path.ends_with("::bill"));
}
