use berth::prelude::*;

// `Option` and `Result<_, Rejection>` wrap extractors only: one error, on the argument.
#[service_bus_trigger(queue = "orders")]
async fn optional_number(count: Option<u64>, rest: Result<Vec<u8>, Rejection>) {
    let _ = (count, rest);
}

fn main() {}
