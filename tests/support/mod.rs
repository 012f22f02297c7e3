//! Shared helpers for the server tests: a real gateway on a loopback port, a real WebSocket client,
//! a minimal HTTP/1.1 client, and one timeout for every await.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vg::LogEntry;
use vg::server::{Emitter, EmitterConfig, Gateway, GatewayConfig};
use vg::wire::{Gap, Hello, Incoming, ServerMessage, decode_server_frame};

/// The bound on every await in these tests.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Awaits `future`, failing the test if it takes longer than [`LIMIT`].
pub async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(LIMIT, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out: {what}"),
    }
}

/// An emitter config that ignores the environment, so tests do not depend on where they run.
pub fn emitter_config() -> EmitterConfig {
    EmitterConfig::default().read_env(false)
}

/// A gateway serving on `127.0.0.1:0`.
pub struct TestServer {
    pub addr: SocketAddr,
    pub emitter: Emitter,
    pub gateway: Gateway,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub async fn start(emitter: EmitterConfig, config: GatewayConfig) -> TestServer {
        let emitter = Emitter::new(emitter);
        let gateway = Gateway::new(emitter.clone(), config);
        let app = gateway.router();
        TestServer::serve(emitter, gateway, app).await
    }

    /// Serves `app` (which should include the gateway's router).
    pub async fn serve(emitter: Emitter, gateway: Gateway, app: axum::Router) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(vg::server::serve(listener, app, gateway.clone(), async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            emitter,
            gateway,
            stop: Some(stop),
            task,
        }
    }

    pub async fn default() -> TestServer {
        TestServer::start(emitter_config(), GatewayConfig::default()).await
    }

    pub fn ws_url(&self, query: &str) -> String {
        let mut url = format!("ws://{}/api/logs/stream", self.addr);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }

    /// Connects and reads `hello`.
    pub async fn connect(&self, query: &str) -> (Ws, Hello) {
        let mut ws = connect(&self.ws_url(query)).await;
        let hello = expect_hello(&mut ws).await;
        (ws, hello)
    }

    /// Stops serving; resolves once `serve` has returned.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within("server stop", &mut self.task)
            .await
            .unwrap()
            .unwrap();
    }
}

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
    loop {
        match next_event(ws).await {
            Event::Message(_) => {}
            Event::Closed(frame) => {
                // Polling once more sends tungstenite's close reply, completing the handshake.
                let _ = tokio::time::timeout(LIMIT, ws.next()).await;
                return frame.map(|f| f.code.into());
            }
        }
    }
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
                    // Polling once more sends tungstenite's close reply, completing the handshake.
                    let _ = tokio::time::timeout(LIMIT, ws.next()).await;
                    return (entries, gaps, frame.map(|f| f.code.into()));
                }
            }
        }
    })
    .await
}

pub fn messages(entries: &[LogEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.message.as_str()).collect()
}

pub fn seqs(entries: &[LogEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq.unwrap()).collect()
}

/// A plain HTTP/1.1 response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request over a fresh connection (`Connection: close`), read to the end.
pub async fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    within("http request", async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let mut request = format!(
            "{method} {target} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        // The real address unless the test names another Host.
        if !headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case("host"))
        {
            request.push_str(&format!("Host: {addr}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        stream.write_all(body).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        parse_response(&raw)
    })
    .await
}

fn parse_response(raw: &[u8]) -> HttpResponse {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}
