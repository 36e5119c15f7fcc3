// Functions and session hooks take the app's state as `State<T>`; each registration says
// which state types it reads, so the host can check them before it starts.
use berth::prelude::*;

struct Prices {
    vat_percent: u32,
}

struct Clock;

#[service_bus_trigger(queue = "orders")]
async fn price(State(prices): State<Prices>, body: String) {
    let _ = (prices.vat_percent, body);
}

#[service_bus_trigger(queue = "carts", sessions = true)]
async fn cart(prices: State<Prices>, _clock: State<Clock>, _session: SessionContext) {
    let _ = prices.vat_percent;
}

#[session_opened(function = "cart")]
async fn open_cart(_session: SessionContext, _token: CancellationToken, prices: State<Prices>) {
    let _ = prices.vat_percent;
}

fn main() {
    let mut types: Vec<(&str, Vec<&str>)> = berth::host::registrations()
        .map(|r| {
            let handler = (r.handler)();
            let names = handler.app_state_types().iter().map(|t| short(t.name())).collect();
            (r.name, names)
        })
        .collect();
    types.sort();
    assert_eq!(
        types,
        [
            ("cart", vec!["Prices", "Clock"]),
            ("price", vec!["Prices"]),
        ]
    );
    let hooks: Vec<Vec<&str>> = berth::host::hook_registrations()
        .map(|h| (h.hook)().app_state_types().iter().map(|t| short(t.name())).collect())
        .collect();
    assert_eq!(hooks, [vec!["Prices"]]);
}

/// The type's name without its module path (the crate's name is trybuild's).
fn short(name: &str) -> &str {
    name.rsplit("::").next().unwrap_or(name)
}
