//! Delivery outcomes and errors in a small, owned shape, plus the conversions to and
//! from the `fe2o3-amqp-types` wire types.

use fe2o3_amqp_types::{
    definitions::{self, ErrorCondition, Fields},
    messaging::{self, DeliveryState},
};
use serde_amqp::{primitives::Symbol, Value};

/// An AMQP `error`: condition, description and the `info` map.
///
/// `info` keeps the peer's order. Keys arrive as symbols from most clients and as strings
/// from rhea (JavaScript); both are accepted and exposed as plain `String`s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorInfo {
    /// Error condition, e.g. `amqp:not-found` or `com.microsoft:dead-letter`.
    pub condition: String,
    /// Human readable description.
    pub description: Option<String>,
    /// The `info` map as key/value pairs (sent with symbol keys).
    pub info: Vec<(String, Value)>,
}

impl ErrorInfo {
    /// An error with a condition and a description.
    pub fn new(condition: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            condition: condition.into(),
            description: Some(description.into()),
            info: Vec::new(),
        }
    }

    /// Adds an `info` entry.
    pub fn with_info(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.info.push((key.into(), value.into()));
        self
    }

    /// The `info` value under `key`, if any.
    pub fn info(&self, key: &str) -> Option<&Value> {
        self.info.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The `info` value under `key` when it is a string or symbol.
    pub fn info_str(&self, key: &str) -> Option<&str> {
        match self.info(key)? {
            Value::String(s) => Some(s),
            Value::Symbol(s) => Some(s.as_str()),
            _ => None,
        }
    }

    pub(crate) fn from_wire(error: definitions::Error) -> Self {
        Self {
            condition: condition_str(&error.condition),
            description: error.description,
            info: error.info.map(|f| fields_to_pairs(*f)).unwrap_or_default(),
        }
    }

    pub(crate) fn to_wire(&self) -> definitions::Error {
        let info = (!self.info.is_empty()).then(|| Box::new(pairs_to_fields(&self.info)));
        definitions::Error {
            condition: ErrorCondition::Custom(Symbol::from(self.condition.as_str())),
            description: self.description.clone(),
            info,
        }
    }
}

impl std::fmt::Display for ErrorInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.description {
            Some(d) => write!(f, "{}: {}", self.condition, d),
            None => f.write_str(&self.condition),
        }
    }
}

impl std::error::Error for ErrorInfo {}

/// The `modified` outcome's fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Modified {
    /// `delivery-failed`.
    pub delivery_failed: Option<bool>,
    /// `undeliverable-here`.
    pub undeliverable_here: Option<bool>,
    /// `message-annotations` to apply, as key/value pairs (string or symbol keys on the wire).
    pub message_annotations: Vec<(String, Value)>,
}

/// A terminal delivery outcome, as sent or received in a disposition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// `accepted`.
    Accepted,
    /// `rejected`, optionally with an error.
    Rejected(Option<ErrorInfo>),
    /// `released`.
    Released,
    /// `modified`.
    Modified(Modified),
}

impl Outcome {
    /// Converts a received delivery state; `None` for non-terminal states
    /// (`received`, transactional states).
    pub(crate) fn from_wire(state: DeliveryState) -> Option<Self> {
        Some(match state {
            DeliveryState::Accepted(_) => Outcome::Accepted,
            DeliveryState::Rejected(r) => Outcome::Rejected(r.error.map(ErrorInfo::from_wire)),
            DeliveryState::Released(_) => Outcome::Released,
            DeliveryState::Modified(m) => Outcome::Modified(Modified {
                delivery_failed: m.delivery_failed,
                undeliverable_here: m.undeliverable_here,
                message_annotations: m
                    .message_annotations
                    .map(fields_to_pairs)
                    .unwrap_or_default(),
            }),
            // `received` and (with the `transaction` feature) transactional states.
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }

    pub(crate) fn to_wire(&self) -> DeliveryState {
        match self {
            Outcome::Accepted => DeliveryState::Accepted(messaging::Accepted {}),
            Outcome::Rejected(e) => DeliveryState::Rejected(messaging::Rejected {
                error: e.as_ref().map(ErrorInfo::to_wire),
            }),
            Outcome::Released => DeliveryState::Released(messaging::Released {}),
            Outcome::Modified(m) => DeliveryState::Modified(messaging::Modified {
                delivery_failed: m.delivery_failed,
                undeliverable_here: m.undeliverable_here,
                message_annotations: (!m.message_annotations.is_empty())
                    .then(|| pairs_to_fields(&m.message_annotations)),
            }),
        }
    }
}

/// The condition of a wire error as text.
pub(crate) fn condition_str(condition: &ErrorCondition) -> String {
    let symbol = match condition {
        ErrorCondition::AmqpError(e) => Symbol::from(e),
        ErrorCondition::ConnectionError(e) => Symbol::from(e),
        ErrorCondition::SessionError(e) => Symbol::from(e),
        ErrorCondition::LinkError(e) => Symbol::from(e),
        ErrorCondition::Custom(s) => return s.as_str().to_owned(),
        // Transaction errors exist only with fe2o3's `transaction` feature.
        #[allow(unreachable_patterns)]
        other => match Value::try_from_serializable(other) {
            Ok(Value::Symbol(s)) => s,
            _ => return String::from("amqp:internal-error"),
        },
    };
    symbol.into_inner()
}

fn fields_to_pairs(fields: Fields) -> Vec<(String, Value)> {
    fields
        .into_inner()
        .into_iter()
        .map(|(k, v)| (k.into_inner(), v))
        .collect()
}

fn pairs_to_fields(pairs: &[(String, Value)]) -> Fields {
    let mut fields = Fields::new();
    for (k, v) in pairs {
        fields.insert(Symbol::from(k.as_str()), v.clone());
    }
    fields
}
