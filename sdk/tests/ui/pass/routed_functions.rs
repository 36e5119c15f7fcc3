// Several functions on one session queue, each taking one message type; the gateway
// accepts only its own sessions.
use berth::prelude::*;

#[derive(serde::Deserialize)]
struct Ping {
    gateway_id: String,
}

#[service_bus_trigger(
    queue = "gateway-requests",
    sessions = true,
    message_type = "PingGatewayRequest",
    session_ids = ["%GatewayId%", "gw-2"]
)]
async fn ping(Json(ping): Json<Ping>) -> Result<(), HandlerError> {
    let _ = ping.gateway_id;
    Ok(())
}

#[service_bus_trigger(
    queue = "gateway-requests",
    sessions = true,
    message_type = "%StatusType%",
    session_ids = ["%GatewayId%", "gw-2"],
)]
async fn status(_session: SessionContext) {}

fn main() {
    let mut found: Vec<_> = berth::host::registrations()
        .map(|r| (r.name, r.trigger.message_type, r.trigger.session_ids))
        .collect();
    found.sort();
    assert_eq!(
        found,
        [
            ("ping", Some("PingGatewayRequest"), &["%GatewayId%", "gw-2"][..]),
            ("status", Some("%StatusType%"), &["%GatewayId%", "gw-2"][..]),
        ]
    );
}
