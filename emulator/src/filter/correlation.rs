//! Correlation filters: a set of system and user properties that must all equal the message's.
//!
//! Service Bus matches each property given in the filter exactly (case-sensitive text, typed
//! values for user properties); properties left out are not compared. A filter with nothing
//! to compare is refused when a rule is made (see [`CorrelationFilter::is_empty`]).

use super::{MessageView, Value};

/// Reads one system property of a message.
type Field = fn(&MessageView) -> &Option<String>;

/// A correlation filter (`CorrelationRuleFilter` in the SDKs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorrelationFilter {
    /// `sys.CorrelationId`.
    pub correlation_id: Option<String>,
    /// `sys.MessageId`.
    pub message_id: Option<String>,
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
    /// User properties, each of which the message must carry with an equal value.
    pub properties: Vec<(String, Value)>,
}

impl CorrelationFilter {
    /// Whether the filter compares nothing at all.
    pub fn is_empty(&self) -> bool {
        self.system().iter().all(|(field, _)| field.is_none()) && self.properties.is_empty()
    }

    /// The system fields, each with the message's value it is compared with.
    fn system(&self) -> [(&Option<String>, Field); 8] {
        [
            (&self.correlation_id, |m| &m.correlation_id),
            (&self.message_id, |m| &m.message_id),
            (&self.to, |m| &m.to),
            (&self.reply_to, |m| &m.reply_to),
            (&self.label, |m| &m.label),
            (&self.session_id, |m| &m.session_id),
            (&self.reply_to_session_id, |m| &m.reply_to_session_id),
            (&self.content_type, |m| &m.content_type),
        ]
    }

    /// Whether every property the filter gives equals the message's.
    pub fn matches(&self, message: &MessageView) -> bool {
        let system = self.system().into_iter().all(|(wanted, of)| match wanted {
            Some(wanted) => of(message).as_deref() == Some(wanted.as_str()),
            None => true,
        });
        system
            && self
                .properties
                .iter()
                .all(|(name, wanted)| message.user.get(name).is_some_and(|v| same(v, wanted)))
    }
}

/// Typed equality; [`Value::Other`] equals nothing (it cannot be compared).
fn same(a: &Value, b: &Value) -> bool {
    !matches!(a, Value::Other) && a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> MessageView {
        let mut m = MessageView {
            correlation_id: Some("order-1".into()),
            label: Some("created".into()),
            session_id: Some("s1".into()),
            ..MessageView::default()
        };
        m.user.insert("color".into(), Value::String("red".into()));
        m.user.insert("qty".into(), Value::Long(3));
        m.user.insert("blob".into(), Value::Other);
        m
    }

    #[test]
    fn every_given_property_must_match() {
        let filter = CorrelationFilter {
            correlation_id: Some("order-1".into()),
            label: Some("created".into()),
            properties: vec![("color".into(), Value::String("red".into()))],
            ..CorrelationFilter::default()
        };
        assert!(filter.matches(&message()));
        let wrong_label = CorrelationFilter {
            label: Some("deleted".into()),
            ..filter.clone()
        };
        assert!(!wrong_label.matches(&message()));
        let case_differs = CorrelationFilter {
            correlation_id: Some("ORDER-1".into()),
            ..CorrelationFilter::default()
        };
        assert!(!case_differs.matches(&message()), "text is compared exactly");
    }

    #[test]
    fn user_properties_compare_typed_values() {
        let qty = |v| CorrelationFilter {
            properties: vec![("qty".into(), v)],
            ..CorrelationFilter::default()
        };
        assert!(qty(Value::Long(3)).matches(&message()));
        assert!(!qty(Value::String("3".into())).matches(&message()));
        assert!(!qty(Value::Long(4)).matches(&message()));
        let missing = CorrelationFilter {
            properties: vec![("absent".into(), Value::Null)],
            ..CorrelationFilter::default()
        };
        assert!(!missing.matches(&message()), "a missing property never matches");
        let other = CorrelationFilter {
            properties: vec![("blob".into(), Value::Other)],
            ..CorrelationFilter::default()
        };
        assert!(!other.matches(&message()));
    }

    #[test]
    fn a_message_without_the_field_does_not_match() {
        let filter = CorrelationFilter {
            reply_to: Some("x".into()),
            ..CorrelationFilter::default()
        };
        assert!(!filter.matches(&message()));
        assert!(CorrelationFilter::default().is_empty());
        assert!(!filter.is_empty());
    }
}
