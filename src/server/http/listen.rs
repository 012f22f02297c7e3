//! Accepting HTTP connections for [`serve`](super::serve), with every one bounded: a cap on open
//! connections (in total and per client address) taken before a byte is read, hyper's timeout on
//! reading a request's head (which also closes a kept-alive connection left idle), and a write
//! timeout on the socket. The body timeout is a layer on the router (see
//! [`Gateway::router`](super::Gateway::router)), so it holds under any server.
//!
//! axum's own `serve` has none of these knobs, so this runs hyper's HTTP/1 connections directly, as
//! axum does underneath. HTTP/1 only: the protocol detection of hyper-util's auto builder runs
//! without a timer, so a peer that sends nothing would be held open.
//!
//! With TLS, the handshake runs in the connection's task after its slot is taken, and must finish
//! within the header timeout: a peer that opens connections and handshakes slowly (or never) holds
//! a slot no longer than one that sends a request's head slowly.

mod handshake;
mod slots;
mod timed;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

pub(crate) use slots::{Slots, client_key};
use timed::TimedStream;

/// How long to pause accepting after an error such as running out of file descriptors, so the loop
/// does not spin while connections close.
const ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The limits [`accept`] applies to each connection.
#[derive(Clone)]
pub(crate) struct Limits {
    pub(crate) slots: Arc<Slots>,
    pub(crate) header_timeout: Duration,
    pub(crate) write_timeout: Duration,
    /// HTTPS when set.
    pub(crate) tls: Option<TlsAcceptor>,
}

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets each connection
/// finish the request in hand (kept-alive ones close at once), and returns when all have.
/// The most one connection's read (and write) buffer may grow to.
pub(crate) const MAX_CONNECTION_BUFFER: usize = 64 * 1024;

pub(crate) async fn accept<F>(listener: TcpListener, app: Router, limits: Limits, shutdown: F)
where
    F: Future<Output = ()> + Send,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper lets a request head grow its connection's buffer to 400 KiB: 200 MiB over 512
        // connections. 64 KiB is far more than any client of vg sends (a larger head gets 431).
        .max_buf_size(MAX_CONNECTION_BUFFER);
    let (stopping, stop) = watch::channel(false);
    // Each connection's task holds a sender: when `recv` sees none left, all have ended.
    let (running, mut ended) = mpsc::channel::<()>(1);
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    tracing::warn!(target: "vg", "accepting connections failed ({e}); retrying in 1 s");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        let slot = match limits.slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(refusal) => {
                // Said without waiting: a peer that does not read gets nothing, and the socket closes.
                let _ = tcp.try_write(refusal.response());
                continue;
            }
        };
        // Without NODELAY a small batch can wait for the peer's delayed ACK (tens of ms).
        let _ = tcp.set_nodelay(true);
        let io = TimedStream::new(tcp, limits.write_timeout, slot);
        let served = Served {
            builder: builder.clone(),
            peer,
            app: app.clone(),
            stop: stop.clone(),
            _running: running.clone(),
        };
        match &limits.tls {
            None => tokio::spawn(served.connection(io)),
            Some(tls) => tokio::spawn(handshake::then_serve(
                tls.clone(),
                io,
                limits.header_timeout,
                served,
            )),
        };
    }
    drop(listener);
    stopping.send_replace(true);
    drop(running);
    let _ = ended.recv().await;
}

/// What one accepted connection is served with.
struct Served {
    builder: http1::Builder,
    peer: SocketAddr,
    app: Router,
    stop: watch::Receiver<bool>,
    /// Held until the connection ends (see [`accept`]).
    _running: mpsc::Sender<()>,
}

impl Served {
    /// Serves HTTP on `io` (the socket, or the TLS stream over it) until the peer is done or the
    /// server stops.
    async fn connection<I>(mut self, io: I)
    where
        I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (app, peer) = (self.app, self.peer);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            // What `into_make_service_with_connect_info` gives handlers under axum's own server.
            request.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(request)
        });
        let conn = self
            .builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        tokio::pin!(conn);
        tokio::select! {
            _ = conn.as_mut() => return,
            _ = self.stop.wait_for(|stopping| *stopping) => {}
        }
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// Errors of one connection that came and went before it was accepted; the listener is fine.
fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
