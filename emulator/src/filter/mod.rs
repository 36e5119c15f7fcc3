//! Subscription rules' filters and actions, evaluated against a [`MessageView`]: the system
//! and application properties of one message, decoded once per send.
//!
//! - [`sql`]: the Service Bus SQL filter and action language (`SqlFilter`, `SqlAction`).
//! - [`MessageView`] / [`Value`]: what a filter reads and an action writes.
//! - [`CorrelationFilter`]: properties that must equal the message's.
//! - [`Rule`] / [`RuleSet`]: named filters with optional actions, and what a subscription's
//!   rules make of a message ([`Admission`]).
//! - [`decode_view`] / [`encode_changes`]: from a message's encoded bytes to its view, and
//!   back for the copy an action changed.

mod correlation;
mod decode;
mod encode;
mod rule;
pub mod sql;
mod view;

pub use correlation::CorrelationFilter;
pub use decode::{decode_view, value_of};
pub use encode::{encode_changes, write_value};
pub use rule::{
    validate_rule_name, Action, Admission, Filter, Parameters, Rule, RuleSet, RuleSetError,
    DEFAULT_RULE_NAME, MAX_RULES, MAX_RULE_NAME, RULE_NAME_PROPERTY,
};
pub use sql::{SqlAction, SqlError, SqlFilter};
pub use view::{MessageView, Value};

pub(crate) use decode::{from_unix_ms, unix_ms};
