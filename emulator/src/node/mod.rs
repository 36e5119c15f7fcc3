//! The Service Bus layer: `$cbs`, `<entity>/$management`, entity sender and receiver links and
//! the message encoding between AMQP deliveries and the entity layer.

pub mod address;
pub mod cbs;
pub mod codec;
pub mod request;
pub mod wire;
