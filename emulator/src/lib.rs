//! `berth-emulator`: an embedded AMQP 1.0 broker that speaks the Azure Service Bus dialect.
#![warn(missing_docs)]
pub mod admin;
pub mod amqp;
mod base64;
pub mod broker;
pub mod entity;
pub mod exposure;
pub mod limits;
pub mod node;
pub mod rights;
pub mod sas;
pub mod store;
pub mod tls;
