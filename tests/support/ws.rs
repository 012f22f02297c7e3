//! A real WebSocket client (tokio-tungstenite) speaking the stream protocol, every read bounded.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vg::LogEntry;
use vg::wire::{Gap, Hello, Incoming, ServerMessage, decode_server_frame};

use super::{LIMIT, within};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(url: &str) -> Ws {
    let request = url.into_client_request().unwrap();
    within("connect", tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"))
        .0
}

/// What a test reads from the server.
#[derive(Debug)]
pub enum Event {
    Message(ServerMessage),
    Closed(Option<CloseFrame>),
}

/// The next protocol message or the close; pings and pongs are skipped.
pub async fn next_event(ws: &mut Ws) -> Event {
    loop {
        let frame = within("next frame", ws.next()).await;
        match frame {
            None => return Event::Closed(None),
            Some(Err(tungstenite::Error::ConnectionClosed)) => return Event::Closed(None),
            Some(Err(e)) => panic!("websocket error: {e}"),
            Some(Ok(Message::Text(text))) => match decode_server_frame(&text) {
                Ok(Incoming::Message(message)) => return Event::Message(message),
                other => panic!("unexpected frame {other:?}"),
            },
            Some(Ok(Message::Close(frame))) => return Event::Closed(frame),
            Some(Ok(_)) => {}
        }
    }
}

pub async fn next_message(ws: &mut Ws) -> ServerMessage {
    match next_event(ws).await {
        Event::Message(message) => message,
        Event::Closed(frame) => panic!("closed unexpectedly: {frame:?}"),
    }
}

pub async fn expect_hello(ws: &mut Ws) -> Hello {
    match next_message(ws).await {
        ServerMessage::Hello(hello) => hello,
        other => panic!("expected hello, got {other:?}"),
    }
}

/// Everything up to and including `live`. Bounded as a whole: pings must not keep it waiting.
pub async fn until_live(ws: &mut Ws) -> (Vec<LogEntry>, Vec<Gap>) {
    within("live", async {
        let mut entries = Vec::new();
        let mut gaps = Vec::new();
        loop {
            match next_message(ws).await {
                ServerMessage::Entries { entries: batch } => entries.extend(batch),
                ServerMessage::Gap(gap) => gaps.push(gap),
                ServerMessage::Live => return (entries, gaps),
                other => panic!("unexpected before live: {other:?}"),
            }
        }
    })
    .await
}

/// Reads until an entry satisfying `last` arrives; returns everything read, that entry included.
/// Bounded as a whole: pings must not keep it waiting for an entry that never comes.
pub async fn until_entry(
    ws: &mut Ws,
    last: impl Fn(&LogEntry) -> bool,
) -> (Vec<LogEntry>, Vec<Gap>) {
    within("the expected entry", async {
        let mut entries = Vec::new();
        let mut gaps = Vec::new();
        loop {
            match next_message(ws).await {
                ServerMessage::Entries { entries: batch } => {
                    let done = batch.iter().any(&last);
                    entries.extend(batch);
                    if done {
                        return (entries, gaps);
                    }
                }
                ServerMessage::Gap(gap) => gaps.push(gap),
                other => panic!("unexpected while streaming: {other:?}"),
            }
        }
    })
    .await
}

/// Sends a text frame.
pub async fn send_text(ws: &mut Ws, text: &str) {
    within("send", ws.send(Message::text(text))).await.unwrap();
}

/// The close code the server ends with, skipping any messages before it.
pub async fn close_code(ws: &mut Ws) -> Option<u16> {
    within("the close", async {
        loop {
            match next_event(ws).await {
                Event::Message(_) => {}
                Event::Closed(frame) => return finish_close(ws, frame).await,
            }
        }
    })
    .await
}

/// Everything up to the close, and the close code. Bounded as a whole: pings must not keep it waiting.
pub async fn until_closed(ws: &mut Ws) -> (Vec<LogEntry>, Vec<Gap>, Option<u16>) {
    within("the close", async {
        let mut entries = Vec::new();
        let mut gaps = Vec::new();
        loop {
            match next_event(ws).await {
                Event::Message(ServerMessage::Entries { entries: batch }) => entries.extend(batch),
                Event::Message(ServerMessage::Gap(gap)) => gaps.push(gap),
                Event::Message(other) => panic!("unexpected before the close: {other:?}"),
                Event::Closed(frame) => {
                    let code = finish_close(ws, frame).await;
                    return (entries, gaps, code);
                }
            }
        }
    })
    .await
}

/// Completes the closing handshake and returns the server's close code.
async fn finish_close(ws: &mut Ws, frame: Option<CloseFrame>) -> Option<u16> {
    // Polling once more sends tungstenite's close reply, completing the handshake.
    let _ = tokio::time::timeout(LIMIT, ws.next()).await;
    frame.map(|f| f.code.into())
}

pub fn messages(entries: &[LogEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.message.as_str()).collect()
}

pub fn seqs(entries: &[LogEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq.unwrap()).collect()
}
