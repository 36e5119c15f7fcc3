//! The primitive encodings records are made of: little-endian integers, length-prefixed
//! strings and byte strings, presence-flagged options, durations in milliseconds.
//!
//! Entity and topic options end their record; the options added after the first format
//! (duplicate detection, forwarding, status, auto-delete) follow the original fields as one
//! block that older records do not have, so those still decode (with the defaults).

use std::time::Duration;

use super::record::DecodeError;
use crate::entity::{EntityOptions, EntityStatus, Sub, TopicOptions};

/// Marks the options block added after the first record format.
const OPTIONS_V2: u8 = 2;

pub(crate) struct Writer<'o>(pub &'o mut Vec<u8>);

impl Writer<'_> {
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    pub fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
            None => self.u8(0),
        }
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.u32(v.len() as u32);
        self.0.extend_from_slice(v);
    }
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    pub fn opt_bytes(&mut self, v: Option<&[u8]>) {
        match v {
            Some(v) => {
                self.u8(1);
                self.bytes(v);
            }
            None => self.u8(0),
        }
    }
    pub fn duration(&mut self, d: Duration) {
        self.u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    }
    /// A duration where `Duration::MAX` (never) is kept as such.
    pub fn duration_or_never(&mut self, d: Duration) {
        if d == Duration::MAX {
            self.u64(u64::MAX);
        } else {
            self.duration(d);
        }
    }
    pub fn options(&mut self, o: &EntityOptions) {
        self.u8(u8::from(o.requires_session));
        self.duration(o.lock_duration);
        self.u32(o.max_delivery_count);
        self.duration_or_never(o.default_message_time_to_live);
        self.u8(u8::from(o.dead_lettering_on_message_expiration));
        self.u64(o.max_size_bytes);
        self.u8(OPTIONS_V2);
        self.u8(u8::from(o.requires_duplicate_detection));
        self.duration(o.duplicate_detection_history_time_window);
        self.opt_bytes(o.forward_to.as_deref().map(str::as_bytes));
        self.opt_bytes(
            o.forward_dead_lettered_messages_to
                .as_deref()
                .map(str::as_bytes),
        );
        self.u8(o.status.code());
        self.duration_or_never(o.auto_delete_on_idle);
    }
    pub fn topic_options(&mut self, o: &TopicOptions) {
        self.u8(OPTIONS_V2);
        self.duration_or_never(o.default_message_time_to_live);
        self.u64(o.max_size_bytes);
        self.u8(u8::from(o.requires_duplicate_detection));
        self.duration(o.duplicate_detection_history_time_window);
        self.u8(o.status.code());
        self.duration_or_never(o.auto_delete_on_idle);
    }
}

pub(crate) struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError("record ends early"));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    pub fn opt_i64(&mut self) -> Result<Option<i64>, DecodeError> {
        Ok(if self.u8()? != 0 {
            Some(self.i64()?)
        } else {
            None
        })
    }
    pub fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    pub fn str(&mut self) -> Result<&'a str, DecodeError> {
        std::str::from_utf8(self.bytes()?).map_err(|_| DecodeError("string is not UTF-8"))
    }
    pub fn opt_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        Ok(if self.u8()? != 0 {
            Some(self.bytes()?)
        } else {
            None
        })
    }
    pub fn opt_str(&mut self) -> Result<Option<&'a str>, DecodeError> {
        match self.opt_bytes()? {
            Some(b) => std::str::from_utf8(b)
                .map(Some)
                .map_err(|_| DecodeError("string is not UTF-8")),
            None => Ok(None),
        }
    }
    pub fn duration(&mut self) -> Result<Duration, DecodeError> {
        let ms = self.u64()?;
        Ok(if ms == u64::MAX {
            Duration::MAX
        } else {
            Duration::from_millis(ms)
        })
    }
    pub fn sub(&mut self) -> Result<Sub, DecodeError> {
        Sub::from_code(self.u8()?).ok_or(DecodeError("unknown sub-queue"))
    }
    pub fn status(&mut self) -> Result<EntityStatus, DecodeError> {
        EntityStatus::from_code(self.u8()?).ok_or(DecodeError("unknown entity status"))
    }
    fn opt_string(&mut self) -> Result<Option<String>, DecodeError> {
        Ok(self.opt_str()?.map(str::to_owned))
    }
    /// Entity options: the original fields, then the later block if the record has it.
    pub fn options(&mut self) -> Result<EntityOptions, DecodeError> {
        let mut o = EntityOptions {
            requires_session: self.u8()? != 0,
            lock_duration: self.duration()?,
            max_delivery_count: self.u32()?,
            default_message_time_to_live: self.duration()?,
            dead_lettering_on_message_expiration: self.u8()? != 0,
            max_size_bytes: self.u64()?,
            ..EntityOptions::default()
        };
        if self.0.is_empty() {
            return Ok(o);
        }
        if self.u8()? != OPTIONS_V2 {
            return Err(DecodeError("unknown options format"));
        }
        o.requires_duplicate_detection = self.u8()? != 0;
        o.duplicate_detection_history_time_window = self.duration()?;
        o.forward_to = self.opt_string()?;
        o.forward_dead_lettered_messages_to = self.opt_string()?;
        o.status = self.status()?;
        o.auto_delete_on_idle = self.duration()?;
        Ok(o)
    }
    /// Topic options (a topic record from before they existed has none: the defaults).
    pub fn topic_options(&mut self) -> Result<TopicOptions, DecodeError> {
        if self.0.is_empty() {
            return Ok(TopicOptions::default());
        }
        if self.u8()? != OPTIONS_V2 {
            return Err(DecodeError("unknown options format"));
        }
        Ok(TopicOptions {
            default_message_time_to_live: self.duration()?,
            max_size_bytes: self.u64()?,
            requires_duplicate_detection: self.u8()? != 0,
            duplicate_detection_history_time_window: self.duration()?,
            status: self.status()?,
            auto_delete_on_idle: self.duration()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Options written before the later block existed still decode, with its defaults.
    #[test]
    fn options_of_the_first_format_decode_with_defaults() {
        let mut old = Vec::new();
        let mut w = Writer(&mut old);
        w.u8(1);
        w.duration(Duration::from_secs(30));
        w.u32(3);
        w.u64(u64::MAX);
        w.u8(0);
        w.u64(1 << 20);
        let o = Reader(&old).options().unwrap();
        assert!(o.requires_session);
        assert_eq!(o.lock_duration, Duration::from_secs(30));
        assert_eq!(o.max_size_bytes, 1 << 20);
        assert_eq!(o.forward_to, None);
        assert_eq!(o.status, EntityStatus::Active);
        assert_eq!(o.auto_delete_on_idle, Duration::MAX);
        assert_eq!(Reader(&[]).topic_options().unwrap(), TopicOptions::default());
    }
}
