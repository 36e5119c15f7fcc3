//! Commands for field gateways on one session queue, `gateway-commands`: the session id is
//! the gateway id, so each gateway's commands are handled strictly in order. Each command
//! type (the `MessageType` application property) is routed to its own function, and every
//! function names `session_ids = ["%GatewayId%"]`: an instance accepts only its own
//! gateway's session, the `GatewayId` app setting (e.g. from the environment). A command
//! type no function handles is dead-lettered with reason `NoHandlerForMessageType`.
//!
//! The battery's limits are application state: read once at start-up from the
//! `MaxSetpointKw` app setting (`host`'s `state_with`), then taken by the function that
//! needs them as `State<BatteryLimits>`.
//!
//! The functions live in the library so that the tests (`tests/with_harness.rs`) link them;
//! `main.rs` runs [`host`]'s command line.

use berth::prelude::*;
use berth_host::SetupContext;

/// The battery's limits, from the app settings.
#[derive(Debug)]
struct BatteryLimits {
    /// The largest charge or discharge power the battery accepts, in kW.
    max_setpoint_kw: f64,
}

impl BatteryLimits {
    /// Without `MaxSetpointKw`, the limit is 100 kW.
    const DEFAULT_MAX_SETPOINT_KW: f64 = 100.0;

    /// Reads `MaxSetpointKw`: a positive number of kW.
    fn from_settings(setup: &SetupContext) -> Result<Self, String> {
        let max_setpoint_kw = match setup.setting("MaxSetpointKw") {
            None => Self::DEFAULT_MAX_SETPOINT_KW,
            Some(text) => text
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|kw| kw.is_finite() && *kw > 0.0)
                .ok_or_else(|| {
                    format!("the app setting `MaxSetpointKw` must be a positive number of kW, not `{text}`")
                })?,
        };
        Ok(BatteryLimits { max_setpoint_kw })
    }
}

/// `PingGatewayRequest`: is the gateway reachable?
#[derive(Debug, serde::Deserialize)]
struct PingGatewayRequest {
    command_id: String,
}

/// `SetBatterySetpointRequest`: charge (positive) or discharge (negative) at this power.
#[derive(Debug, serde::Deserialize)]
struct SetBatterySetpointRequest {
    command_id: String,
    setpoint_kw: f64,
}

/// `RefreshConfigurationRequest`: load this version of the gateway's configuration.
#[derive(Debug, serde::Deserialize)]
struct RefreshConfigurationRequest {
    command_id: String,
    config_version: u32,
}

#[service_bus_trigger(
    queue = "gateway-commands",
    sessions = true,
    message_type = "PingGatewayRequest",
    session_ids = ["%GatewayId%"]
)]
async fn ping_gateway(
    SessionId(gateway): SessionId,
    Json(ping): Json<PingGatewayRequest>,
) -> Result<(), HandlerError> {
    tracing::info!(gateway = %gateway, command_id = %ping.command_id, "gateway pinged");
    Ok(())
}

#[service_bus_trigger(
    queue = "gateway-commands",
    sessions = true,
    message_type = "SetBatterySetpointRequest",
    session_ids = ["%GatewayId%"]
)]
async fn set_battery_setpoint(
    SessionId(gateway): SessionId,
    State(limits): State<BatteryLimits>,
    Json(request): Json<SetBatterySetpointRequest>,
) -> Result<Settlement, HandlerError> {
    let max_kw = limits.max_setpoint_kw;
    if !request.setpoint_kw.is_finite() || request.setpoint_kw.abs() > max_kw {
        // Retrying cannot make it valid: set it aside for an operator.
        tracing::warn!(
            gateway = %gateway,
            command_id = %request.command_id,
            setpoint_kw = request.setpoint_kw,
            "setpoint refused"
        );
        return Ok(Settlement::dead_letter(
            "SetpointOutOfRange",
            format!(
                "command {}: setpoint {} kW is outside ±{max_kw} kW",
                request.command_id, request.setpoint_kw
            ),
        ));
    }
    tracing::info!(
        gateway = %gateway,
        command_id = %request.command_id,
        setpoint_kw = request.setpoint_kw,
        "battery setpoint set"
    );
    Ok(Settlement::Complete)
}

#[service_bus_trigger(
    queue = "gateway-commands",
    sessions = true,
    message_type = "RefreshConfigurationRequest",
    session_ids = ["%GatewayId%"]
)]
async fn refresh_configuration(
    SessionId(gateway): SessionId,
    Json(request): Json<RefreshConfigurationRequest>,
) -> Result<(), HandlerError> {
    tracing::info!(
        gateway = %gateway,
        command_id = %request.command_id,
        config_version = request.config_version,
        "configuration refreshed"
    );
    Ok(())
}

/// The host this app runs: the battery limits read at start-up from the app settings.
/// `main` runs its command line, and the tests run it with `berth_host::testing`.
pub fn host() -> berth_host::HostBuilder {
    berth_host::Host::builder()
        .state_with(|setup| async move { BatteryLimits::from_settings(&setup) })
}
