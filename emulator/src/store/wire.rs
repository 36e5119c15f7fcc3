//! The primitive encodings records are made of: little-endian integers, length-prefixed
//! strings and byte strings, presence-flagged options, durations in milliseconds.

use std::time::Duration;

use super::record::DecodeError;
use crate::entity::EntityOptions;

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
    pub fn options(&mut self, o: &EntityOptions) {
        self.u8(u8::from(o.requires_session));
        self.duration(o.lock_duration);
        self.u32(o.max_delivery_count);
        if o.default_message_time_to_live == Duration::MAX {
            self.u64(u64::MAX);
        } else {
            self.duration(o.default_message_time_to_live);
        }
        self.u8(u8::from(o.dead_lettering_on_message_expiration));
        self.u64(o.max_size_bytes);
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
    pub fn options(&mut self) -> Result<EntityOptions, DecodeError> {
        Ok(EntityOptions {
            requires_session: self.u8()? != 0,
            lock_duration: self.duration()?,
            max_delivery_count: self.u32()?,
            default_message_time_to_live: self.duration()?,
            dead_lettering_on_message_expiration: self.u8()? != 0,
            max_size_bytes: self.u64()?,
        })
    }
}
