//! What a queue does to its messages: lock one for delivery, put it back (dead-lettering it
//! past the max delivery count), unlock a session, settle.

use berth::{ErrorKind, Message, ServiceBusError, Settlement};
use std::time::SystemTime;

use super::{DeadLettered, Queue};
use crate::runtime::source::{DeliveryToken, Received};

impl Queue {
    pub(super) fn lock_message(
        &mut self,
        session: Option<&str>,
        next_token: &mut u64,
    ) -> Option<Received> {
        let mut message = match session {
            Some(id) => self.sessions.get_mut(id)?.messages.pop_front()?,
            None => self.plain.pop_front()?,
        };
        message.delivery_count += 1;
        message.locked_until = Some(SystemTime::now() + self.lock_duration);
        *next_token += 1;
        let token = DeliveryToken((*next_token as u128).to_be_bytes());
        self.in_flight
            .insert(token, (session.map(str::to_owned), message.clone()));
        Some(Received { message, token })
    }

    /// Puts a message back at the head of its session (or the queue), dead-lettering it
    /// once it has been delivered `max_delivery_count` times.
    pub(super) fn put_back(&mut self, session: Option<&str>, message: Message, counted: bool) {
        let mut message = message;
        if !counted {
            message.delivery_count = message.delivery_count.saturating_sub(1);
        }
        if counted && message.delivery_count >= self.max_delivery_count {
            let description = format!(
                "Message could not be consumed after {} delivery attempts.",
                self.max_delivery_count
            );
            self.dead_letters.push(DeadLettered {
                message,
                reason: "MaxDeliveryCountExceeded".into(),
                description,
            });
            return;
        }
        match session {
            Some(id) => self
                .sessions
                .entry(id.to_owned())
                .or_default()
                .messages
                .push_front(message),
            None => self.plain.push_front(message),
        }
    }

    pub(super) fn unlock_session(&mut self, session_id: &str, counted: bool) {
        let tokens: Vec<DeliveryToken> = self
            .in_flight
            .iter()
            .filter(|(_, (s, _))| s.as_deref() == Some(session_id))
            .map(|(t, _)| *t)
            .collect();
        let mut returned: Vec<Message> = tokens
            .iter()
            .filter_map(|t| self.in_flight.remove(t).map(|(_, m)| m))
            .collect();
        returned.sort_by_key(|m| std::cmp::Reverse(m.sequence_number));
        for message in returned {
            self.put_back(Some(session_id), message, counted);
        }
        if let Some(session) = self.sessions.get_mut(session_id) {
            session.holder = None;
            session.locked_until = None;
        }
    }

    pub(super) fn settle(
        &mut self,
        token: DeliveryToken,
        settlement: Settlement,
    ) -> Result<(), ServiceBusError> {
        let (session, mut message) = self.in_flight.remove(&token).ok_or_else(|| {
            ServiceBusError::new(ErrorKind::MessageLockLost, "the lock supplied is invalid")
        })?;
        match settlement {
            Settlement::Complete => self.completed.push(message),
            Settlement::Abandon {
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.put_back(session.as_deref(), message, true);
            }
            Settlement::Defer {
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.deferred.push(message);
            }
            Settlement::DeadLetter {
                reason,
                description,
                properties_to_modify,
            } => {
                message.application_properties.extend(properties_to_modify);
                self.dead_letters.push(DeadLettered {
                    message,
                    reason,
                    description,
                });
            }
        }
        Ok(())
    }
}
