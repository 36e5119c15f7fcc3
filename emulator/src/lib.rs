//! `berth-emulator`: an embedded AMQP 1.0 broker that speaks the Azure Service Bus dialect.
//!
//! The broker is the default feature `broker`. Without it the crate holds only what a
//! Service Bus *client* needs as well — SAS signing and parsing ([`sas`], [`rights`]), the
//! contained decoding of untrusted AMQP bytes ([`amqp::validate_encoded`],
//! [`amqp::decode_untrusted`]), .NET ticks ([`ticks`]), GUID byte order ([`guid`]) and
//! duration strings ([`duration`]) — so `berth-host` can leave the broker out and keep one
//! copy.
#![warn(missing_docs)]

/// Declares the items that belong to the broker: compiled only with the feature `broker`.
macro_rules! broker {
    ($($item:item)*) => {
        $(
            #[cfg(feature = "broker")]
            $item
        )*
    };
}

broker! {
    pub mod admin;
    pub mod broker;
    pub mod entity;
    pub mod exposure;
    pub mod filter;
    pub mod limits;
    pub mod node;
    pub mod store;
    pub mod tls;
}

pub mod amqp;
mod base64;
pub mod duration;
pub mod guid;
pub mod iso8601;
pub mod rights;
pub mod sas;
pub mod ticks;
