//! Following the broker's byte stream frame by frame, across reads of any size: 8-byte
//! protocol headers (SASL, then AMQP), then frames (4-byte size, data offset, type,
//! channel). Only the performatives that tell settlement verdicts are read — `attach`,
//! `disposition`, `detach`, `end` — and only their performative: payloads and every other
//! frame are skipped without being copied. The bytes read are reused from frame to frame, so
//! following a frame allocates nothing once the buffer has grown to the largest
//! performative seen.

use std::fmt;

use super::decode::{self, DecodeError, Fields};

/// One performative that matters for verdicts, read in place.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    /// The broker attached a link on `channel`.
    Attach {
        channel: u16,
        name: &'a str,
        handle: u32,
        /// The broker's role: `true` when it receives on this link.
        receiver: bool,
    },
    /// The broker disposed of deliveries `first..=last` on `channel`.
    Disposition {
        channel: u16,
        /// `true` when about deliveries the broker received (our sends).
        receiver: bool,
        first: u32,
        last: u32,
        settled: bool,
        /// The encoded delivery state, if any.
        state: Option<&'a [u8]>,
    },
    /// The broker detached link `handle` on `channel`.
    Detach {
        channel: u16,
        handle: u32,
        /// The encoded error, if any.
        error: Option<&'a [u8]>,
    },
    /// The broker ended the AMQP session on `channel`.
    End {
        channel: u16,
        error: Option<&'a [u8]>,
    },
}

/// Why the stream cannot be followed any further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameError(String);

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<DecodeError> for FrameError {
    fn from(e: DecodeError) -> Self {
        FrameError(format!("malformed performative: {e}"))
    }
}

const ATTACH: u64 = 0x12;
const DISPOSITION: u64 = 0x15;
const DETACH: u64 = 0x16;
const END: u64 = 0x17;

enum State {
    /// Reading an 8-byte protocol header (`have` bytes so far).
    ProtocolHeader { have: usize },
    /// At a frame boundary: a frame or another protocol header comes next.
    Boundary,
    /// Reading an 8-byte frame header.
    FrameHeader { have: usize },
    /// Skipping `left` bytes (an extended header or the rest of a frame); then a performative
    /// in a body of `then_body` bytes, or the next frame boundary.
    Skip { left: u32, then_body: Option<u32> },
    /// Reading the performative of an AMQP frame with `left` body bytes not yet read.
    Performative { left: u32 },
    /// The stream could not be followed.
    Failed,
}

/// Follows one direction of an AMQP connection (the broker's).
pub(crate) struct FrameFollower {
    state: State,
    header: [u8; 8],
    channel: u16,
    performative: Vec<u8>,
}

impl Default for FrameFollower {
    fn default() -> Self {
        FrameFollower {
            state: State::ProtocolHeader { have: 0 },
            header: [0; 8],
            channel: 0,
            performative: Vec::new(),
        }
    }
}

impl FrameFollower {
    /// Follows the next bytes of the stream, calling `on` for each event they complete.
    /// After an error the follower stays failed (every later call returns an error).
    pub fn feed(
        &mut self,
        mut data: &[u8],
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        while !data.is_empty() {
            if let Err(e) = self.step(&mut data, on) {
                self.state = State::Failed;
                return Err(e);
            }
        }
        Ok(())
    }

    fn step(&mut self, data: &mut &[u8], on: &mut impl FnMut(Event<'_>)) -> Result<(), FrameError> {
        match self.state {
            State::Failed => return Err(FrameError("the stream was not followed".into())),
            State::Boundary if data[0] == b'A' => self.state = State::ProtocolHeader { have: 0 },
            State::Boundary => self.state = State::FrameHeader { have: 0 },
            State::ProtocolHeader { have } => {
                let have = self.fill_header(have, data);
                self.state = State::ProtocolHeader { have };
                if have == 8 {
                    check_protocol_header(&self.header)?;
                    self.state = State::Boundary;
                }
            }
            State::FrameHeader { have } => {
                let have = self.fill_header(have, data);
                self.state = State::FrameHeader { have };
                if have == 8 {
                    self.state = self.frame_start()?;
                }
            }
            State::Skip { left, then_body } => {
                let n = (left as usize).min(data.len());
                *data = &data[n..];
                self.state = skip_or_boundary(left - n as u32, then_body);
            }
            State::Performative { left } => self.read_performative(left, data, on)?,
        }
        Ok(())
    }

    fn fill_header(&mut self, have: usize, data: &mut &[u8]) -> usize {
        let n = (8 - have).min(data.len());
        self.header[have..have + n].copy_from_slice(&data[..n]);
        *data = &data[n..];
        have + n
    }

    /// What follows a complete frame header.
    fn frame_start(&mut self) -> Result<State, FrameError> {
        let h = &self.header;
        let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let (doff, kind) = (u32::from(h[4]), h[5]);
        self.channel = u16::from_be_bytes([h[6], h[7]]);
        if size < 8 || doff < 2 || doff * 4 > size {
            return Err(FrameError(format!(
                "bad frame header: size {size}, data offset {doff}"
            )));
        }
        self.performative.clear();
        let extended = doff * 4 - 8;
        let body = size - doff * 4;
        Ok(match (kind, body) {
            // Heartbeats (no body) and frames that are not AMQP (SASL) are skipped whole.
            (0, 0) | (1.., _) => skip_or_boundary(size - 8, None),
            (0, body) => skip_or_boundary(extended, Some(body)),
        })
    }

    fn read_performative(
        &mut self,
        mut left: u32,
        data: &mut &[u8],
        on: &mut impl FnMut(Event<'_>),
    ) -> Result<(), FrameError> {
        loop {
            let want = match extent(&self.performative)? {
                Extent::Ignore => {
                    self.state = skip_or_boundary(left, None);
                    return Ok(());
                }
                Extent::Whole(n) if self.performative.len() >= n => {
                    self.emit(on)?;
                    self.state = skip_or_boundary(left, None);
                    return Ok(());
                }
                Extent::Need(n) | Extent::Whole(n) => n,
            };
            let missing = want - self.performative.len();
            if missing > left as usize {
                return Err(FrameError(
                    "a performative runs past the end of its frame".into(),
                ));
            }
            if data.is_empty() {
                self.state = State::Performative { left };
                return Ok(());
            }
            let n = missing.min(data.len());
            self.performative.extend_from_slice(&data[..n]);
            *data = &data[n..];
            left -= n as u32;
        }
    }

    fn emit(&self, on: &mut impl FnMut(Event<'_>)) -> Result<(), FrameError> {
        let bytes = &self.performative[..];
        let descriptor = decode::value_len(&bytes[1..])?;
        let code = decode::descriptor_code(&bytes[1..])?;
        let mut f = Fields::of_list(&bytes[1 + descriptor..])?;
        let channel = self.channel;
        let missing = |what| FrameError(format!("a broker {what} lacks a mandatory field"));
        let event = match code {
            ATTACH => Event::Attach {
                channel,
                name: f.string()?.ok_or_else(|| missing("attach"))?,
                handle: f.uint()?.ok_or_else(|| missing("attach"))?,
                receiver: f.boolean()?.ok_or_else(|| missing("attach"))?,
            },
            DISPOSITION => {
                let receiver = f.boolean()?.ok_or_else(|| missing("disposition"))?;
                let first = f.uint()?.ok_or_else(|| missing("disposition"))?;
                let last = f.uint()?.unwrap_or(first);
                let settled = f.boolean()?.unwrap_or(false);
                let state = f.next_raw()?;
                Event::Disposition {
                    channel,
                    receiver,
                    first,
                    last,
                    settled,
                    state,
                }
            }
            DETACH => {
                let handle = f.uint()?.ok_or_else(|| missing("detach"))?;
                let _closed = f.next_raw()?;
                Event::Detach {
                    channel,
                    handle,
                    error: f.next_raw()?,
                }
            }
            _ => Event::End {
                channel,
                error: f.next_raw()?,
            },
        };
        on(event);
        Ok(())
    }
}

fn skip_or_boundary(left: u32, then_body: Option<u32>) -> State {
    match (left, then_body) {
        (0, Some(body)) => State::Performative { left: body },
        (0, None) => State::Boundary,
        (left, then_body) => State::Skip { left, then_body },
    }
}

fn check_protocol_header(header: &[u8; 8]) -> Result<(), FrameError> {
    match header {
        [b'A', b'M', b'Q', b'P', 0 | 3, 1, 0, 0] => Ok(()),
        _ => Err(FrameError(format!(
            "not an AMQP 1.0 or SASL protocol header: {header:02x?}"
        ))),
    }
}

/// How much of a performative is needed.
enum Extent {
    /// Not one we read: skip the frame.
    Ignore,
    /// At least this many bytes (more than there are) are needed to tell.
    Need(usize),
    /// The performative is this many bytes long.
    Whole(usize),
}

/// Reads as much of a performative's start as needed to know whether it matters and how
/// long it is.
fn extent(bytes: &[u8]) -> Result<Extent, FrameError> {
    let Some(&first) = bytes.first() else {
        return Ok(Extent::Need(1));
    };
    if first != 0x00 {
        return Err(FrameError(
            "a frame body is not a described performative".into(),
        ));
    }
    let descriptor_len = match bytes.get(1) {
        None => return Ok(Extent::Need(2)),
        Some(0x53) => 2,
        Some(0x80) => 9,
        Some(0xa3) => match bytes.get(2) {
            None => return Ok(Extent::Need(3)),
            Some(n) => 2 + usize::from(*n),
        },
        Some(_) => {
            return Err(FrameError(
                "a performative's descriptor is malformed".into(),
            ))
        }
    };
    let list_at = 1 + descriptor_len;
    if bytes.len() < list_at + 1 {
        return Ok(Extent::Need(list_at + 1));
    }
    if !matches!(
        decode::descriptor_code(&bytes[1..list_at])?,
        ATTACH | DISPOSITION | DETACH | END
    ) {
        return Ok(Extent::Ignore);
    }
    let header = match bytes[list_at] {
        0x45 => return Ok(Extent::Whole(list_at + 1)),
        0xc0 => 2,
        0xd0 => 5,
        _ => return Err(FrameError("a performative's body is not a list".into())),
    };
    if bytes.len() < list_at + header {
        return Ok(Extent::Need(list_at + header));
    }
    Ok(Extent::Whole(list_at + list_len(&bytes[list_at..])))
}

/// The encoded length of a list from its header alone (its body may not be there yet).
fn list_len(list: &[u8]) -> usize {
    match list {
        [0xc0, size, ..] => 2 + usize::from(*size),
        [0xd0, a, b, c, d, ..] => 5 + u32::from_be_bytes([*a, *b, *c, *d]) as usize,
        _ => list.len(),
    }
}

#[cfg(test)]
#[path = "frames_tests.rs"]
mod tests;
