//! The Service Bus client: AMQP 1.0 over fe2o3-amqp, speaking the Service Bus dialect.
//!
//! Read in the order a message travels: [`connection_string`] or an identity-based
//! [`IdentityConnection`] with a [`credential`] ([`ConnectionTarget`]) → `connection` (TCP,
//! TLS, SASL, `$cbs` with `sas` or `jwt` tokens from `token_source`) → [`ServiceBusClient`]
//! (one shared connection, reconnects)
//! → `acceptor` ([`AmqpSessionSource`]: accept a session) → `session_receiver`
//! ([`AmqpSession`]: receive, settle, state, lock renewal) → `convert` (AMQP message →
//! [`berth::Message`]) → `settle` (settlement → AMQP outcome). Non-session triggers use
//! `message_receiver` ([`AmqpMessageSource`]); `sender` ([`Sender`]) sends; `peek`
//! ([`ServiceBusClient::peek`]) browses an entity without locking.
//!
//! ```no_run
//! # async fn start(settings: berth_host::runtime::ReceiverSettings) -> Result<(), Box<dyn std::error::Error>> {
//! use berth_host::servicebus::{ConnectionString, ServiceBusClient};
//! let cs: ConnectionString = "Endpoint=sb://localhost;SharedAccessKeyName=k;SharedAccessKey=v;UseDevelopmentEmulator=true".parse()?;
//! let client = ServiceBusClient::connect(cs).await?;
//! let sessions = client.session_source("orders", 0); // for runtime::acceptor::run
//! let messages = client.message_source("events", settings); // for runtime::message_pump::run
//! client.sender("orders").send(&berth::Message::with_body("hi").session("s1")).await?;
//! # Ok(()) }
//! ```

mod acceptor;
mod cbs;
mod client;
mod connection;
pub mod connection_string;
mod convert;
pub mod credential;
mod errors;
#[doc(hidden)]
pub mod fuzzing;
mod lock_token;
mod management;
mod message_receiver;
mod peek;
mod peek_lock;
mod property_value;
mod request_link;
mod sas;
mod sender;
mod session_receiver;
mod settle;
mod target;
mod ticks;
mod token_source;
pub mod trust;
mod untrusted;
mod verdict;

pub use acceptor::AmqpSessionSource;
pub use client::{ClientOptions, ServiceBusClient};
pub use connection_string::{ConnectionString, ConnectionStringError, Credential};
pub use message_receiver::AmqpMessageSource;
pub use peek::{MessageState, PeekedMessage};
pub use sender::{BatchError, Sender};
pub use session_receiver::AmqpSession;
pub use target::{ConnectionTarget, IdentityConnection};
pub use trust::{CaSources, TlsTrust, TrustError};
