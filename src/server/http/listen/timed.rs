//! The accepted socket with a write timeout: a peer that stops reading is cut off.
//!
//! Neither hyper nor tower has a write timeout (tower-http's response-body timeout times the body
//! producing data, not the socket taking it), and a response held for a peer that never reads is
//! memory the server cannot get back. So the socket itself fails a write that has made no progress
//! for the configured time; hyper then drops the connection and everything queued for it. The same
//! holds after a WebSocket upgrade, which keeps this socket.
//!
//! It also carries the connection's [`Slot`], so the connection counts against the caps exactly as
//! long as the socket is open, an upgraded viewer included.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use super::slots::Slot;

/// A TCP stream whose writes fail with [`io::ErrorKind::TimedOut`] after `timeout` without progress.
#[derive(Debug)]
pub(crate) struct TimedStream {
    tcp: TcpStream,
    timeout: Duration,
    /// Running while a write waits for the peer; reset by any progress.
    stalled: Option<Pin<Box<Sleep>>>,
    _slot: Slot,
}

impl TimedStream {
    pub(crate) fn new(tcp: TcpStream, timeout: Duration, slot: Slot) -> TimedStream {
        TimedStream {
            tcp,
            timeout,
            stalled: None,
            _slot: slot,
        }
    }

    /// Reads what has arrived without taking it (the TLS handshake looks at the first byte).
    pub(crate) async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.tcp.peek(buf).await
    }

    /// Turns a pending write into an error once the peer has taken nothing for `timeout`.
    fn pending<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let timeout = self.timeout;
        let sleep = self
            .stalled
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + timeout)));
        ready!(sleep.as_mut().poll(cx));
        Poll::Ready(Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the peer read nothing for the write timeout",
        )))
    }
}

impl AsyncRead for TimedStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for TimedStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.tcp).poll_write(cx, buf) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs) {
            Poll::Pending => self.pending(cx),
            ready => {
                self.stalled = None;
                ready
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
