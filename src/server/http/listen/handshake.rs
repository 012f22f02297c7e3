//! The TLS handshake of one connection, bounded like a request's head, and a plain answer for a
//! client that speaks plain HTTP to the HTTPS port.
//!
//! That client would otherwise see its connection reset with nothing said (rustls has no plain
//! text to answer with); told in HTTP, `vg logs` or curl shows the reason. The first byte decides:
//! every TLS connection starts with a handshake record (0x16), every HTTP/1 request with a method
//! name's letter.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsAcceptor;

use super::Served;
use super::timed::TimedStream;

/// The first byte of a TLS record carrying a handshake message.
const TLS_HANDSHAKE: u8 = 0x16;
/// Most of a plain request's head read before answering (it is not parsed, only let in so the
/// answer is not lost to a reset).
const PLAIN_HEAD_MAX: usize = 16 * 1024;
const PLAIN_ANSWER: &str =
    "this server speaks HTTPS only: use https:// (wss:// for the log stream)\n";

/// Runs the handshake within `timeout` (or until the server stops), then serves the connection.
pub(super) async fn then_serve(
    tls: TlsAcceptor,
    io: TimedStream,
    timeout: Duration,
    served: Served,
) {
    let mut stop = served.stop.clone();
    let handshake = async move {
        let mut first = [0u8; 1];
        if io.peek(&mut first).await.ok()? == 0 {
            return None;
        }
        if first[0] != TLS_HANDSHAKE {
            if first[0].is_ascii_alphabetic() {
                answer_plain(io).await;
            }
            return None;
        }
        tls.accept(io).await.ok()
    };
    let stream = tokio::select! {
        done = tokio::time::timeout(timeout, handshake) => match done {
            Ok(Some(stream)) => stream,
            // Failed or too slow: rustls has already told the peer what it could (an alert).
            _ => return,
        },
        _ = stop.wait_for(|stopping| *stopping) => return,
    };
    served.connection(stream).await;
}

/// Reads the plain request's head, answers 400 saying to use `https://`, and closes.
async fn answer_plain(mut io: TimedStream) {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while head.len() < PLAIN_HEAD_MAX && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match io.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n{PLAIN_ANSWER}",
        PLAIN_ANSWER.len()
    );
    if io.write_all(answer.as_bytes()).await.is_ok() {
        let _ = io.shutdown().await;
    }
}
