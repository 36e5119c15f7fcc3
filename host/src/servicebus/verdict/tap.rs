//! The connection's byte stream, passed through unchanged, with the broker's side followed
//! on the way ([`FrameFollower`]) so that the [`Verdicts`] registry sees each verdict
//! before fe2o3-amqp does. End of stream, a read error, a stream that cannot be followed
//! and the stream being dropped (the connection closed) all count as the connection lost.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tracing::warn;

use super::frames::FrameFollower;
use super::registry::Verdicts;

/// A stream whose incoming bytes are followed for verdicts.
pub(crate) struct VerdictTap<S> {
    inner: S,
    follower: FrameFollower,
    verdicts: Arc<Verdicts>,
    following: bool,
}

impl<S> VerdictTap<S> {
    /// Wraps `inner`, reporting to `verdicts`.
    pub fn new(inner: S, verdicts: Arc<Verdicts>) -> Self {
        VerdictTap {
            inner,
            follower: FrameFollower::default(),
            verdicts,
            following: true,
        }
    }

    fn lost(&mut self, why: &str) {
        if self.following {
            self.following = false;
            self.verdicts.on_lost(why);
        }
    }

    fn follow(&mut self, bytes: &[u8]) {
        if !self.following {
            return;
        }
        let verdicts = &self.verdicts;
        if let Err(e) = self
            .follower
            .feed(bytes, &mut |event| verdicts.on_event(event))
        {
            warn!(error = %e, "the broker's AMQP stream could not be followed; settlements on this connection fail from now on");
            self.lost(&format!(
                "the broker's AMQP stream could not be followed ({e})"
            ));
        }
    }
}

impl<S> Drop for VerdictTap<S> {
    fn drop(&mut self) {
        self.lost("the connection was closed");
    }
}

impl<S> fmt::Debug for VerdictTap<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerdictTap")
            .field("following", &self.following)
            .finish()
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for VerdictTap<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let (before, room) = (buf.filled().len(), buf.remaining() > 0);
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            Poll::Ready(Ok(())) if room && buf.filled().len() == before => {
                self.lost("the broker closed the connection");
            }
            Poll::Ready(Ok(())) => self.follow(&buf.filled()[before..]),
            Poll::Ready(Err(e)) => self.lost(&format!("reading from the broker failed ({e})")),
            Poll::Pending => {}
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for VerdictTap<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}
