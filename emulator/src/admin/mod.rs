//! The admin HTTP API of the embedded broker: list, create and delete entities, and read
//! their runtime counts, as JSON.
//!
//! | request | what it does |
//! |---|---|
//! | `GET /health` | `{"status":"ok"}` |
//! | `GET /entities` | every queue, topic and subscription with its options and counts |
//! | `GET /entities/{path}` | one (`orders`, `events/Subscriptions/audit`) |
//! | `PUT /queues/{name}` | create a queue; body: options (`requires_session`, `lock_duration`, `max_delivery_count`, `default_message_time_to_live`, `dead_lettering_on_message_expiration`, `max_size_bytes`, `requires_duplicate_detection`, `duplicate_detection_history_time_window`, `forward_to`, `forward_dead_lettered_messages_to`, `status`, `auto_delete_on_idle`), all optional |
//! | `PUT /topics/{name}` | create a topic; body: options (`default_message_time_to_live`, `max_size_bytes`, `requires_duplicate_detection`, `duplicate_detection_history_time_window`, `status`, `auto_delete_on_idle`), all optional |
//! | `PATCH /entities/{path}` | update an entity: body `{"status": "Active" \| "Disabled" \| "SendDisabled" \| "ReceiveDisabled"}` (other keys: 400 naming them) |
//! | `PUT /topics/{topic}/subscriptions/{name}` | create a subscription; body: options, and `rules` (a list of rules, see below; left out: `$Default`) |
//! | `GET /topics/{topic}/subscriptions/{name}/rules` | the subscription's rules |
//! | `PUT /topics/{topic}/subscriptions/{name}/rules/{rule}` | add a rule; body: `sql`, `correlation` or `filter` (true/false), optional `action` |
//! | `DELETE /topics/{topic}/subscriptions/{name}/rules/{rule}` | remove a rule |
//! | `DELETE /entities/{path}` | delete a queue, topic (with its subscriptions) or subscription |
//!
//! Created: 201 with the entity; existing: 409; unknown: 404; bad body: 400 with the line
//! and column. Errors are `{"error": "...", "condition": "..."}`.
//!
//! With SAS rules every request but `GET /health` needs a token from a rule with the Manage
//! right (`Authorization: SharedAccessSignature …`), else 401 (the `auth` module). Without
//! rules the API is open and may only listen on loopback unless anonymous access is allowed.
//! Connections and request times are bounded ([`AdminLimits`]).

mod auth;
mod limits;
mod properties;
mod routes;
mod rules;
mod server;

pub use auth::AdminAccess;
pub use limits::AdminLimits;
pub use server::{AdminError, AdminServer};
