//! A hand-driven AMQP client: writes exactly the bytes a test wants and decodes what
//! comes back, frame by frame.

use bytes::{Buf, BytesMut};
use fe2o3_amqp_types::{
    definitions::{ReceiverSettleMode, Role, SenderSettleMode},
    messaging::{Source, Target},
    performatives::{Attach, Begin, Flow, Open, Performative, Transfer},
};
use serde::{Deserialize, Serialize};
use serde_amqp::{de::Deserializer, read::IoReader};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

use crate::wait;

pub const AMQP_HEADER: [u8; 8] = *b"AMQP\x00\x01\x00\x00";
pub const SASL_HEADER: [u8; 8] = *b"AMQP\x03\x01\x00\x00";

/// A frame read back: empty (heartbeat), a performative with its payload, or a frame
/// the test client cannot decode (raw body).
#[derive(Debug)]
pub enum Received {
    Empty,
    Performative(u16, Box<Performative>, Vec<u8>),
    Other(u8, Vec<u8>),
}

pub struct RawClient {
    pub stream: TcpStream,
    buf: BytesMut,
}

/// Encodes one frame of `frame_type` with an already encoded body.
pub fn raw_frame(frame_type: u8, channel: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + body.len());
    out.extend_from_slice(&(8 + body.len() as u32).to_be_bytes());
    out.extend_from_slice(&[2, frame_type]);
    out.extend_from_slice(&channel.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Encodes one AMQP frame carrying `performative` followed by `payload`.
pub fn frame<T: Serialize>(channel: u16, performative: &T, payload: &[u8]) -> Vec<u8> {
    let mut body = serde_amqp::to_vec(performative).unwrap();
    body.extend_from_slice(payload);
    raw_frame(0, channel, &body)
}

pub fn open(container: &str, idle_ms: Option<u32>) -> Open {
    Open {
        container_id: container.into(),
        hostname: Some("localhost".into()),
        max_frame_size: 65_536.into(),
        channel_max: 255.into(),
        idle_time_out: idle_ms,
        outgoing_locales: None,
        incoming_locales: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

pub fn begin() -> Begin {
    Begin {
        remote_channel: None,
        next_outgoing_id: 0,
        incoming_window: 1000,
        outgoing_window: 1000,
        handle_max: 100.into(),
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

/// A client attach: `Role::Receiver` reads from `address`, `Role::Sender` writes to it.
pub fn attach(name: &str, handle: u32, role: Role, address: &str) -> Attach {
    let (source, target) = match role {
        Role::Receiver => (address.to_owned(), format!("{name}-target")),
        Role::Sender => (format!("{name}-source"), address.to_owned()),
    };
    let receiver = role == Role::Receiver;
    Attach {
        name: name.into(),
        handle: handle.into(),
        role,
        snd_settle_mode: SenderSettleMode::Unsettled,
        // Peek-lock receivers use `second`; senders want their transfers settled at once.
        rcv_settle_mode: if receiver {
            ReceiverSettleMode::Second
        } else {
            ReceiverSettleMode::First
        },
        source: Some(Box::new(Source::builder().address(source).build())),
        target: Some(Box::new(Target::builder().address(target).build().into())),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: (!receiver).then_some(0),
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

/// An unsettled single-frame transfer.
pub fn transfer(handle: u32, id: u32, tag: &[u8]) -> Transfer {
    Transfer {
        handle: handle.into(),
        delivery_id: Some(id),
        delivery_tag: Some(tag.to_vec().into()),
        message_format: Some(0),
        settled: Some(false),
        more: false,
        rcv_settle_mode: None,
        state: None,
        resume: false,
        aborted: false,
        batchable: false,
    }
}

pub fn link_flow(handle: u32, delivery_count: Option<u32>, credit: u32, drain: bool) -> Flow {
    Flow {
        next_incoming_id: Some(0),
        incoming_window: 1000,
        next_outgoing_id: 0,
        outgoing_window: 1000,
        handle: Some(handle.into()),
        delivery_count,
        link_credit: Some(credit),
        available: None,
        drain,
        echo: false,
        properties: None,
    }
}

impl RawClient {
    pub async fn connect(port: u16) -> Self {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        Self {
            stream,
            buf: BytesMut::new(),
        }
    }

    /// Connects without SASL and exchanges headers and opens; `None` if the server is gone
    /// (for tests that kill it).
    pub async fn try_opened(port: u16) -> Option<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let mut c = Self {
            stream,
            buf: BytesMut::new(),
        };
        c.try_write(&AMQP_HEADER).await?;
        c.try_write(&frame(0, &open("raw", None), &[])).await?;
        (c.read_header().await? == AMQP_HEADER).then_some(())?;
        match c.read_frame().await? {
            Received::Performative(_, p, _) if matches!(*p, Performative::Open(_)) => Some(c),
            _ => None,
        }
    }

    /// Writes `bytes`; `None` if the connection is gone.
    pub async fn try_write(&mut self, bytes: &[u8]) -> Option<()> {
        self.stream.write_all(bytes).await.ok()
    }

    /// Connects without SASL and exchanges headers and opens.
    pub async fn opened(port: u16, idle_ms: Option<u32>) -> (Self, Open) {
        let mut c = Self::connect(port).await;
        c.write(&AMQP_HEADER).await;
        c.write(&frame(0, &open("raw", idle_ms), &[])).await;
        assert_eq!(c.read_header().await, Some(AMQP_HEADER));
        let Some(Received::Performative(_, p, _)) = c.read_frame().await else {
            panic!("no open")
        };
        let Performative::Open(open) = *p else {
            panic!("expected open, got {p:?}")
        };
        (c, open)
    }

    pub async fn write(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Reads until `n` bytes are buffered; `false` at end of stream. Panics when the peer
    /// sends nothing for [`wait::LIMIT`], so that a test expecting a frame cannot hang.
    async fn fill(&mut self, n: usize) -> bool {
        while self.buf.len() < n {
            let what = format!("{n} bytes from the broker (have {})", self.buf.len());
            match wait::within(&what, self.stream.read_buf(&mut self.buf)).await {
                Ok(0) | Err(_) => return false,
                Ok(_) => {}
            }
        }
        true
    }

    /// The 8-byte protocol header, `None` at end of stream.
    pub async fn read_header(&mut self) -> Option<[u8; 8]> {
        if !self.fill(8).await {
            return None;
        }
        let mut h = [0u8; 8];
        h.copy_from_slice(&self.buf.split_to(8));
        Some(h)
    }

    /// The next frame, `None` at end of stream.
    pub async fn read_frame(&mut self) -> Option<Received> {
        if !self.fill(8).await {
            return None;
        }
        let size =
            u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
        if !self.fill(size).await {
            return None;
        }
        let mut f = self.buf.split_to(size);
        let doff = usize::from(f[4]) * 4;
        let (frame_type, channel) = (f[5], u16::from_be_bytes([f[6], f[7]]));
        f.advance(doff);
        if f.is_empty() {
            return Some(Received::Empty);
        }
        if frame_type != 0 {
            return Some(Received::Other(frame_type, f.to_vec()));
        }
        let mut rest: &[u8] = &f;
        let performative =
            Performative::deserialize(&mut Deserializer::new(IoReader::new(&mut rest))).unwrap();
        Some(Received::Performative(
            channel,
            Box::new(performative),
            rest.to_vec(),
        ))
    }

    /// The next performative, skipping heartbeats; `None` at end of stream.
    pub async fn next(&mut self) -> Option<(Performative, Vec<u8>)> {
        loop {
            match self.read_frame().await? {
                Received::Empty => continue,
                Received::Performative(_, p, payload) => return Some((*p, payload)),
                Received::Other(t, _) => panic!("unexpected frame type {t}"),
            }
        }
    }

    /// The next performative that `pick` accepts, skipping the others; panics naming `what`
    /// when the connection ends first.
    pub async fn expect<T>(
        &mut self,
        what: &str,
        mut pick: impl FnMut(Performative, Vec<u8>) -> Option<T>,
    ) -> T {
        loop {
            let Some((p, payload)) = self.next().await else {
                panic!("the connection ended before {what}");
            };
            if let Some(found) = pick(p, payload) {
                return found;
            }
        }
    }

    /// Reads until the server's close; returns its error condition and description.
    pub async fn expect_close(&mut self) -> (String, String) {
        while let Some((p, _)) = self.next().await {
            if let Performative::Close(close) = p {
                let e = close.error.expect("close without error");
                return (condition_text(&e), e.description.unwrap_or_default());
            }
        }
        panic!("the connection ended without close");
    }
}

/// The condition of an error as the text on the wire.
pub fn condition_text(error: &fe2o3_amqp_types::definitions::Error) -> String {
    let condition = serde_amqp::to_vec(&error.condition).unwrap();
    let condition: serde_amqp::Value = serde_amqp::from_slice(&condition).unwrap();
    let serde_amqp::Value::Symbol(condition) = condition else {
        panic!("{condition:?}")
    };
    condition.into_inner()
}
