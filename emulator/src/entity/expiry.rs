//! Time-driven changes: message and session lock expiry, scheduled messages turning active
//! (see `activation`), and time-to-live expiry. Run at the start of every operation and by the namespace timer.

use tokio::time::Instant;

use super::state::{EntityState, Sub};

impl EntityState {
    /// Applies every change due at `now`.
    pub fn process_due(&mut self, now: Instant) {
        for sub in [Sub::Main, Sub::DeadLetter, Sub::TransferDeadLetter] {
            while let Some(&(deadline, seq)) = self.sub(sub).lock_deadlines.first() {
                if deadline > now {
                    break;
                }
                self.sub(sub).lock_deadlines.pop_first();
                self.unlock(sub, seq, true, now);
            }
        }
        loop {
            let due = self.sessions.as_mut().and_then(|s| {
                let &(deadline, _) = s.deadlines.first()?;
                if deadline > now {
                    return None;
                }
                s.deadlines.pop_first()
            });
            let Some((_, id)) = due else { break };
            let _ = self.end_session_lock(&id, None, true, now);
        }
        while let Some(&(at, seq)) = self.scheduled.first() {
            if at > now {
                break;
            }
            self.scheduled.pop_first();
            self.activate(seq, now);
        }
        while let Some(&(deadline, seq)) = self.ttl.first() {
            if deadline > now {
                break;
            }
            self.ttl.pop_first();
            // A locked message expires when its lock ends (see `unlock`).
            if self
                .main
                .messages
                .get(&seq)
                .is_some_and(|m| m.lock.is_none())
            {
                self.expire(seq);
            }
        }
    }

    /// The earliest time something is due, if anything is.
    pub fn next_deadline(&self) -> Option<Instant> {
        let firsts = [
            self.main.lock_deadlines.first().map(|d| d.0),
            self.dlq.lock_deadlines.first().map(|d| d.0),
            self.tdlq.lock_deadlines.first().map(|d| d.0),
            self.sessions
                .as_ref()
                .and_then(|s| s.deadlines.first().map(|d| d.0)),
            self.scheduled.first().map(|d| d.0),
            self.ttl.first().map(|d| d.0),
        ];
        firsts.into_iter().flatten().min()
    }
}
