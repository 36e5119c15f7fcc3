//! Decoding a log record's payload (the binary form is described in `record`).

use super::*;

impl Record<'_> {
    /// Decodes one payload (without its frame).
    pub fn decode(payload: &[u8]) -> Result<Record<'_>, DecodeError> {
        let mut r = Reader(payload);
        let rec = match r.u8()? {
            T_CREATE_QUEUE => Record::CreateQueue {
                id: r.u32()?,
                name: r.str()?,
                options: r.options()?,
            },
            T_CREATE_TOPIC => Record::CreateTopic {
                id: r.u32()?,
                name: r.str()?,
                options: r.topic_options()?,
            },
            T_CREATE_SUBSCRIPTION => Record::CreateSubscription {
                id: r.u32()?,
                topic: r.u32()?,
                name: r.str()?,
                options: r.options()?,
            },
            T_DELETE => Record::DeleteEntity { id: r.u32()? },
            T_ENQUEUE => {
                let source = r.u32()?;
                let n = r.u32()? as usize;
                if n > r.0.len() / 4 {
                    return Err(DecodeError("target count beyond the record"));
                }
                let mut targets = Vec::with_capacity(n);
                for _ in 0..n {
                    targets.push(r.u32()?);
                }
                Record::Enqueue {
                    source,
                    targets: Cow::Owned(targets),
                    seq: r.i64()?,
                    enqueued_ms: r.i64()?,
                    ttl_ms: r.opt_i64()?,
                    scheduled_ms: r.opt_i64()?,
                    session: r.opt_str()?,
                    body: r.bytes()?,
                }
            }
            T_REMOVE => Record::Remove {
                entity: r.u32()?,
                sub: r.sub()?,
                seq: r.i64()?,
            },
            T_DEAD_LETTER => Record::DeadLetter {
                entity: r.u32()?,
                seq: r.i64()?,
                reason: r.opt_str()?,
                description: r.opt_str()?,
                body: r.opt_bytes()?,
            },
            T_DEFER => Record::Defer {
                entity: r.u32()?,
                sub: r.sub()?,
                seq: r.i64()?,
                body: r.opt_bytes()?,
            },
            T_REPLACE_BODY => Record::ReplaceBody {
                entity: r.u32()?,
                sub: r.sub()?,
                seq: r.i64()?,
                body: r.bytes()?,
            },
            T_SESSION_STATE => Record::SessionState {
                entity: r.u32()?,
                session: r.str()?,
                state: r.opt_bytes()?,
                updated_ms: r.i64()?,
            },
            T_NEXT_SEQUENCE => Record::NextSequence {
                entity: r.u32()?,
                next: r.i64()?,
            },
            T_ACTIVATE => Record::Activate {
                entity: r.u32()?,
                seq: r.i64()?,
                new_seq: r.i64()?,
            },
            T_ENTITY_TIMES => Record::EntityTimes {
                entity: r.u32()?,
                created_ms: r.i64()?,
                updated_ms: r.i64()?,
                accessed_ms: r.opt_i64()?,
            },
            T_SEEN => Record::Seen {
                entity: r.u32()?,
                message_id: r.str()?,
                at_ms: r.i64()?,
                seq: r.i64()?,
            },
            T_SET_STATUS => Record::SetStatus {
                entity: r.u32()?,
                status: EntityStatus::from_code(r.u8()?)
                    .ok_or(DecodeError("unknown entity status"))?,
            },
            T_TRANSFER_DEAD_LETTER => Record::TransferDeadLetter {
                entity: r.u32()?,
                from: r.sub()?,
                seq: r.i64()?,
                reason: r.opt_str()?,
                description: r.opt_str()?,
            },
            T_FORWARDED_DEAD_LETTER => Record::ForwardedDeadLetter {
                entity: r.u32()?,
                seq: r.i64()?,
                reason: r.opt_str()?,
                description: r.opt_str()?,
                source: r.str()?,
            },
            T_RULES => Record::Rules {
                entity: r.u32()?,
                rules: r.bytes()?,
            },
            _ => return Err(DecodeError("unknown record tag")),
        };
        if !r.0.is_empty() {
            return Err(DecodeError("trailing bytes after the record"));
        }
        Ok(rec)
    }
}
