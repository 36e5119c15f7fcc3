use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
async fn holds_an_rc(message: Message) {
    let shared = std::rc::Rc::new(message);
    std::future::ready(()).await;
    let _ = shared;
}

fn main() {}
