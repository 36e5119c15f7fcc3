//! Settling locked messages: complete, abandon, defer, dead-letter, release.

use tokio::time::Instant;

use super::error::DEAD_LETTER_IN_DEAD_LETTER_QUEUE;
use super::state::{EntityState, Sub};
use super::{DeadLetterInfo, Disposition, EntityError, LockToken, MessageState};
use crate::store::record::Record;

impl EntityState {
    /// Settles the message locked with `token`. With `session` = (id, generation) the message
    /// must belong to that session and the caller must still hold its lock.
    pub fn settle(
        &mut self,
        sub: Sub,
        token: &LockToken,
        disposition: Disposition,
        session: Option<(&str, u64)>,
        now: Instant,
    ) -> Result<(), EntityError> {
        let lost = self.lock_lost(sub);
        let Some(&seq) = self.sub(sub).locks.get(token) else {
            return Err(lost);
        };
        if let Some((id, generation)) = session {
            let belongs = self
                .sub(sub)
                .messages
                .get(&seq)
                .is_some_and(|m| m.session.as_deref() == Some(id));
            let held = self
                .sessions
                .as_mut()
                .is_some_and(|s| s.held(id, generation).is_ok());
            if !belongs || !held {
                return Err(EntityError::SessionLockLost);
            }
        }
        if sub != Sub::Main && matches!(disposition, Disposition::DeadLetter { .. }) {
            return Err(EntityError::NotAllowed(
                DEAD_LETTER_IN_DEAD_LETTER_QUEUE.into(),
            ));
        }
        match disposition {
            Disposition::Complete => {
                self.remove_logged(sub, seq);
            }
            Disposition::Abandon { body } => {
                if let Some(b) = body {
                    self.replace_body(sub, seq, b);
                }
                self.unlock(sub, seq, true, now);
            }
            Disposition::Defer { body } => {
                self.defer(sub, seq, body);
                self.unlock(sub, seq, false, now);
            }
            Disposition::DeadLetter {
                reason,
                description,
                body,
            } => {
                let info = DeadLetterInfo {
                    reason,
                    description,
                    source: None,
                };
                self.dead_letter(seq, info, body);
            }
            Disposition::Release => self.unlock(sub, seq, false, now),
        }
        Ok(())
    }

    fn defer(&mut self, sub: Sub, seq: i64, body: Option<bytes::Bytes>) {
        let Some(msg) = self.sub(sub).messages.get_mut(&seq) else {
            return;
        };
        msg.state = MessageState::Deferred;
        let mut delta = None;
        if let Some(b) = &body {
            delta = Some((msg.body.len() as u64, b.len() as u64));
            msg.body = b.clone();
        }
        let session = msg.session.clone();
        if let Some((old, new)) = delta {
            self.size_bytes = self.size_bytes.saturating_sub(old) + new;
        }
        self.journal.log(|entity| Record::Defer {
            entity,
            sub,
            seq,
            body: body.as_deref(),
        });
        self.logged_for(sub, session.as_deref());
    }
}
