//! The properties of one message as filters see them.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// A property value. AMQP's integer types widen to [`Value::Long`], its floating-point types
/// to [`Value::Double`]; types a filter cannot compare are [`Value::Other`].
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An explicit AMQP null.
    Null,
    /// `boolean`.
    Bool(bool),
    /// Any AMQP integer (byte to long, and unsigned ones that fit).
    Long(i64),
    /// `float` or `double`.
    Double(f64),
    /// `string` or `symbol`.
    String(String),
    /// `timestamp`.
    DateTime(SystemTime),
    /// A .NET `TimeSpan` (ticks) where the type is known to be one.
    Duration(Duration),
    /// `uuid`, in RFC 4122 byte order.
    Uuid([u8; 16]),
    /// Anything else (binary, lists, maps, described values): present, but not comparable.
    Other,
}

/// One message's properties: the system properties a filter can name as `sys.X`, and the
/// application properties (`user.X` or a bare name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MessageView {
    /// `sys.MessageId`, as text.
    pub message_id: Option<String>,
    /// `sys.CorrelationId`, as text.
    pub correlation_id: Option<String>,
    /// `sys.To`.
    pub to: Option<String>,
    /// `sys.ReplyTo`.
    pub reply_to: Option<String>,
    /// `sys.Label` (the SDKs' `subject`).
    pub label: Option<String>,
    /// `sys.SessionId`.
    pub session_id: Option<String>,
    /// `sys.ReplyToSessionId`.
    pub reply_to_session_id: Option<String>,
    /// `sys.ContentType`.
    pub content_type: Option<String>,
    /// `sys.Size`: the encoded message's size in bytes.
    pub size: i64,
    /// `sys.TimeToLive`.
    pub time_to_live: Option<Duration>,
    /// `sys.ScheduledEnqueueTimeUtc`.
    pub scheduled_enqueue_time_utc: Option<SystemTime>,
    /// `sys.EnqueuedTimeUtc` (set by the broker when it accepts the message).
    pub enqueued_time_utc: Option<SystemTime>,
    /// `sys.SequenceNumber` (the topic's number for this message).
    pub sequence_number: Option<i64>,
    /// `sys.DeliveryCount`.
    pub delivery_count: i64,
    /// The application properties, by name as sent (a filter looks a name up exactly first,
    /// then ignoring case: Azure documents property names as case-insensitive).
    pub user: BTreeMap<String, Value>,
}
