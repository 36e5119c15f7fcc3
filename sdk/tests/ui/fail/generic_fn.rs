use berth::prelude::*;

#[service_bus_trigger(queue = "orders")]
async fn type_parameter<T: FromInvocation>(_value: T) {}

#[service_bus_trigger(queue = "orders")]
async fn const_parameter<const N: usize>(_message: Message) {}

#[service_bus_trigger(queue = "orders")]
async fn impl_trait_argument(_value: Json<impl serde::de::DeserializeOwned>) {}

#[service_bus_trigger(queue = "orders")]
async fn impl_trait_output(_message: Message) -> impl std::fmt::Debug {}

use berth::FromInvocation;

fn main() {}
