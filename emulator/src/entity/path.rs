//! Entity paths as they appear in node addresses (scheme and host already stripped):
//! `orders`, `orders/$DeadLetterQueue`, `t/Subscriptions/s`, `t/subscriptions/s/$deadletterqueue`.

use super::EntityError;

const DLQ_SUFFIX: &str = "/$deadletterqueue";
const TRANSFER_SUFFIX: &str = "/$transfer";
const SUBSCRIPTIONS: &str = "/subscriptions/";

/// A parsed entity path. Names compare case-insensitively elsewhere; here they keep their case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityPath<'a> {
    /// Which entity.
    pub name: EntityName<'a>,
    /// The path names the entity's dead-letter sub-queue.
    pub dead_letter: bool,
    /// The path names the entity's transfer dead-letter sub-queue
    /// (`…/$Transfer/$DeadLetterQueue`; `dead_letter` is set too).
    pub transfer: bool,
}

/// The entity part of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityName<'a> {
    /// A queue or a topic (the namespace knows which).
    Plain(&'a str),
    /// `topic/Subscriptions/subscription`.
    Subscription {
        /// The topic's name.
        topic: &'a str,
        /// The subscription's name.
        subscription: &'a str,
    },
}

impl<'a> EntityPath<'a> {
    /// Parses a path; leading and trailing `/` are ignored.
    pub fn parse(path: &'a str) -> Result<Self, EntityError> {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return Err(EntityError::InvalidArgument(format!(
                "'{path}' is not an entity path."
            )));
        }
        let (rest, dead_letter) = match strip_suffix_ignore_case(trimmed, DLQ_SUFFIX) {
            Some(rest) => (rest, true),
            None => (trimmed, false),
        };
        let (rest, transfer) = match strip_suffix_ignore_case(rest, TRANSFER_SUFFIX) {
            Some(inner) if dead_letter => (inner, true),
            _ => (rest, false),
        };
        let name = match find_ignore_case(rest, SUBSCRIPTIONS) {
            Some(at) => {
                let topic = &rest[..at];
                let subscription = &rest[at + SUBSCRIPTIONS.len()..];
                if topic.is_empty() || subscription.is_empty() || subscription.contains('/') {
                    return Err(EntityError::InvalidArgument(format!(
                        "'{path}' is not a valid subscription path (topic/Subscriptions/name)."
                    )));
                }
                EntityName::Subscription {
                    topic,
                    subscription,
                }
            }
            None => EntityName::Plain(rest),
        };
        Ok(Self {
            name,
            dead_letter,
            transfer,
        })
    }
}

fn strip_suffix_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

fn find_ignore_case(s: &str, needle: &str) -> Option<usize> {
    let hay = s.as_bytes();
    let pat = needle.as_bytes();
    hay.windows(pat.len())
        .position(|w| w.eq_ignore_ascii_case(pat))
}

/// The case-insensitive key for a name.
pub(crate) fn key(name: &str) -> String {
    name.to_lowercase()
}
