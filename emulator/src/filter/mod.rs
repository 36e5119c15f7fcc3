//! Subscription rules' filters and actions, evaluated against a [`MessageView`]: the system
//! and application properties of one message, decoded once per send.
//!
//! - [`sql`]: the Service Bus SQL filter and action language (`SqlFilter`, `SqlAction`).
//! - [`MessageView`] / [`Value`]: what a filter reads and an action writes.

pub mod sql;
mod view;

pub use sql::{SqlAction, SqlError, SqlFilter};
pub use view::{MessageView, Value};
