use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
async fn seventeen(
    _1: Message, _2: Message, _3: Message, _4: Message, _5: Message, _6: Message,
    _7: Message, _8: Message, _9: Message, _10: Message, _11: Message, _12: Message,
    _13: Message, _14: Message, _15: Message, _16: Message, _17: Message,
) {}

fn main() {}
