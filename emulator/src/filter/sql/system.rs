//! The system properties a filter names as `sys.Name` (names matched case-insensitively, as
//! Azure documents property names), how they read from a [`MessageView`] and which of them a
//! rule action may set or remove.
//!
//! | `sys.` name | reads | an action may |
//! |---|---|---|
//! | MessageId, CorrelationId, To, ReplyTo, Label, SessionId, ReplyToSessionId, ContentType | string or NULL | SET (string or NULL), REMOVE |
//! | TimeToLive | timespan or NULL | SET (timespan or NULL), REMOVE |
//! | ScheduledEnqueueTimeUtc, EnqueuedTimeUtc | datetime or NULL | — (set by the sender / broker) |
//! | ExpiresAtUtc | EnqueuedTimeUtc + TimeToLive, or NULL | — |
//! | SequenceNumber | long or NULL | — |
//! | Size, DeliveryCount | long | — |
//!
//! Other public properties of Azure's `BrokeredMessage` (PartitionKey, ViaPartitionKey,
//! EnqueuedSequenceNumber, LockToken, LockedUntilUtc, State, DeadLetterSource, …) exist on
//! Azure but are not carried in [`MessageView`]: naming one is refused with a reason that says
//! so, rather than silently reading NULL where Azure would read a value. Any other name is
//! refused as Azure refuses a non-existent system property.

use std::time::SystemTime;

use super::value::{datetime_ticks, timespan_ticks, Val};
use crate::filter::MessageView;

/// A system property the embedded broker can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SysProp {
    MessageId,
    CorrelationId,
    To,
    ReplyTo,
    Label,
    SessionId,
    ReplyToSessionId,
    ContentType,
    Size,
    TimeToLive,
    ScheduledEnqueueTimeUtc,
    EnqueuedTimeUtc,
    ExpiresAtUtc,
    SequenceNumber,
    DeliveryCount,
}

const ALL: [(SysProp, &str); 15] = [
    (SysProp::MessageId, "MessageId"),
    (SysProp::CorrelationId, "CorrelationId"),
    (SysProp::To, "To"),
    (SysProp::ReplyTo, "ReplyTo"),
    (SysProp::Label, "Label"),
    (SysProp::SessionId, "SessionId"),
    (SysProp::ReplyToSessionId, "ReplyToSessionId"),
    (SysProp::ContentType, "ContentType"),
    (SysProp::Size, "Size"),
    (SysProp::TimeToLive, "TimeToLive"),
    (SysProp::ScheduledEnqueueTimeUtc, "ScheduledEnqueueTimeUtc"),
    (SysProp::EnqueuedTimeUtc, "EnqueuedTimeUtc"),
    (SysProp::ExpiresAtUtc, "ExpiresAtUtc"),
    (SysProp::SequenceNumber, "SequenceNumber"),
    (SysProp::DeliveryCount, "DeliveryCount"),
];

/// Azure system properties the view does not carry.
const UNSUPPORTED: [&str; 10] = [
    "PartitionKey",
    "ViaPartitionKey",
    "TransactionPartitionKey",
    "EnqueuedSequenceNumber",
    "LockToken",
    "LockedUntilUtc",
    "State",
    "DeadLetterSource",
    "ForcePersistence",
    "IsBodyConsumed",
];

impl SysProp {
    /// The property called `name` (any case), or why there is none.
    pub fn lookup(name: &str) -> Result<SysProp, String> {
        if let Some((prop, _)) = ALL.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return Ok(*prop);
        }
        if let Some(n) = UNSUPPORTED.iter().find(|n| n.eq_ignore_ascii_case(name)) {
            return Err(format!(
                "system property 'sys.{n}' is not supported by the embedded broker"
            ));
        }
        Err(format!("'sys.{name}' is not a system property"))
    }

    /// The documented name.
    pub fn name(self) -> &'static str {
        ALL.iter()
            .find(|(p, _)| *p == self)
            .map_or("?", |(_, n)| n)
    }

    /// Whether a rule action may SET or REMOVE it.
    pub fn settable(self) -> bool {
        matches!(
            self,
            SysProp::MessageId
                | SysProp::CorrelationId
                | SysProp::To
                | SysProp::ReplyTo
                | SysProp::Label
                | SysProp::SessionId
                | SysProp::ReplyToSessionId
                | SysProp::ContentType
                | SysProp::TimeToLive
        )
    }

    /// The value in `m` (NULL when unset).
    pub fn read(self, m: &MessageView) -> Val<'_> {
        if let Some(field) = self.string_field(m) {
            return field.as_deref().map_or(Val::Null, Val::borrowed);
        }
        match self {
            SysProp::Size => Val::Long(m.size),
            SysProp::DeliveryCount => Val::Long(m.delivery_count),
            SysProp::SequenceNumber => m.sequence_number.map_or(Val::Null, Val::Long),
            SysProp::TimeToLive => m.time_to_live.map_or(Val::Null, timespan_ticks),
            SysProp::ScheduledEnqueueTimeUtc => datetime(m.scheduled_enqueue_time_utc),
            SysProp::EnqueuedTimeUtc => datetime(m.enqueued_time_utc),
            SysProp::ExpiresAtUtc => match (m.enqueued_time_utc, m.time_to_live) {
                (Some(at), Some(ttl)) => datetime(at.checked_add(ttl)),
                _ => Val::Null,
            },
            _ => Val::Null,
        }
    }

    /// Whether the property has a value in `m` (`EXISTS(sys.X)`).
    pub fn exists(self, m: &MessageView) -> bool {
        !matches!(self.read(m), Val::Null)
    }

    fn string_field(self, m: &MessageView) -> Option<&Option<String>> {
        Some(match self {
            SysProp::MessageId => &m.message_id,
            SysProp::CorrelationId => &m.correlation_id,
            SysProp::To => &m.to,
            SysProp::ReplyTo => &m.reply_to,
            SysProp::Label => &m.label,
            SysProp::SessionId => &m.session_id,
            SysProp::ReplyToSessionId => &m.reply_to_session_id,
            SysProp::ContentType => &m.content_type,
            _ => return None,
        })
    }

    /// The string field an action writes, if this is one.
    pub fn string_field_mut(self, m: &mut MessageView) -> Option<&mut Option<String>> {
        Some(match self {
            SysProp::MessageId => &mut m.message_id,
            SysProp::CorrelationId => &mut m.correlation_id,
            SysProp::To => &mut m.to,
            SysProp::ReplyTo => &mut m.reply_to,
            SysProp::Label => &mut m.label,
            SysProp::SessionId => &mut m.session_id,
            SysProp::ReplyToSessionId => &mut m.reply_to_session_id,
            SysProp::ContentType => &mut m.content_type,
            _ => return None,
        })
    }
}

fn datetime(t: Option<SystemTime>) -> Val<'static> {
    t.map_or(Val::Null, datetime_ticks)
}
