//! The reconnecting WebSocket client: a state machine that reports, never fails.
//!
//! It remembers the last seq it delivered and the server's `boot` id, and on every reconnect asks for
//! `after=SEQ&boot=ID`, so the viewer gets no entry twice and is told exactly what it missed (the
//! server's `gap` messages) when history could not cover the outage. A viewer that falls behind the
//! live stream does the same at once: the server's history still holds what it skipped. Backoff is
//! exponential with full jitter, capped, and reset once a connection has delivered its `hello`.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use futures_util::StreamExt;
use tokio::sync::mpsc::Sender;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{self, Message};
use url::Url;

use super::passed::{self, JsonEntries};
use super::tls::explain as explain_tls;
use super::url::{exposes_token, stream_url};
use super::{ConnState, SourceConfig, SourceEvent};
use crate::model::format_timestamp;
use crate::timespec::parse_instant;
use crate::wire::{GapReason, Hello, Incoming, ServerMessage, StreamQuery, decode_server_frame};

const BACKOFF_START: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(10);
/// The server pings every ~15 s; silence for longer than this means the connection is dead.
const IDLE_TIMEOUT: Duration = Duration::from_secs(45);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const MAX_FRAME: usize = 64 * 1024 * 1024;

/// Where the stream stands, carried across reconnects.
#[derive(Debug, Default)]
struct Position {
    last_seq: Option<u64>,
    boot: Option<String>,
    /// On a merged stream (a server publishing to Redis), the cursor after the last entry: any
    /// instance sharing the stream resumes exactly there. Seqs are then each instance's own and
    /// `last_seq` stays unset.
    cursor: Option<String>,
    /// Where the server's history starts has been said (once a run, not on every reconnect).
    history_said: bool,
}

/// The `--since` the stream asked for: the time it meant when the viewer started, and as typed.
#[derive(Debug, Clone)]
struct Since {
    at: DateTime<Utc>,
    typed: String,
}

impl Position {
    /// On a merged stream: the cursor an `entries` frame ends at, when it carries one.
    fn follow_cursor(&mut self, frame: &str) {
        if let Some(cursor) = frame_cursor(frame) {
            self.cursor = Some(cursor);
        }
    }

    /// On a plain stream: past the newest seq delivered, when there was one.
    fn advance(&mut self, newest: Option<u64>) {
        if let Some(seq) = newest {
            self.last_seq = Some(seq);
        }
    }

    /// A note for the first `hello` whose history starts after `--since`: without it, a viewer
    /// asking for the last 10 minutes of a server that holds 4 would silently show less. Said once;
    /// a server that does not say where its history starts (`oldest_time` absent) gets no note.
    fn history_note(&mut self, hello: &Hello, since: Option<&Since>) -> Option<String> {
        if self.history_said || self.last_seq.is_some() {
            return None;
        }
        let (since, oldest) = (since?, hello.oldest_time?);
        if oldest <= since.at {
            return None;
        }
        self.history_said = true;
        Some(format!(
            "the server's history starts at {} (its oldest entry), later than --since {}",
            format_timestamp(&oldest),
            since.typed
        ))
    }
}

/// What ended one connection.
enum Ended {
    /// The receiver is gone: stop quietly.
    ViewerGone,
    /// The server finished a non-follow stream.
    Complete,
    /// Worth retrying; `fresh` means the connection got as far as `hello`.
    Retry { reason: String, fresh: bool },
    /// This viewer fell behind the live stream: reconnect at once with `after`, so the server sends
    /// what it skipped from history instead of the viewer losing it.
    CatchUp,
    /// Retrying cannot help (bad token, rejected filter...).
    Fatal(String),
}

pub(super) async fn run(
    url: String,
    token: Option<String>,
    tls: std::sync::Arc<rustls::ClientConfig>,
    config: SourceConfig,
    tx: Sender<SourceEvent>,
) {
    let base = match stream_url(&url) {
        Ok(url) => url,
        Err(e) => {
            let _ = tx.send(SourceEvent::Failed(e.to_string())).await;
            return;
        }
    };
    let target = base.to_string();
    // Once per run, not per reconnect: the same token goes the same way every time.
    if token.is_some() && exposes_token(&base) {
        let host = base.host_str().unwrap_or_default();
        let warning = format!(
            "warning: the token goes to {host} over plain ws:// (http://), readable by anyone on the network path; use https:// (wss://) beyond this machine"
        );
        if tx.send(SourceEvent::Notice(warning)).await.is_err() {
            return;
        }
    }
    // Resolved once: "10m" means ten minutes before the viewer started, whenever it connects.
    let since = config.filter.since.as_ref().and_then(|typed| {
        let at = parse_instant(typed, Utc::now()).ok()?;
        Some(Since {
            at,
            typed: typed.clone(),
        })
    });
    let mut position = Position::default();
    let mut backoff = BACKOFF_START;
    let mut attempt = 0;
    loop {
        attempt += 1;
        if tx
            .send(SourceEvent::State(ConnState::Connecting {
                target: target.clone(),
                attempt,
            }))
            .await
            .is_err()
        {
            return;
        }
        let ended = connect_once(
            &base,
            token.as_deref(),
            &tls,
            &config,
            since.as_ref(),
            &mut position,
            &tx,
        )
        .await;
        let reason = match ended {
            Ended::ViewerGone => return,
            Ended::Complete => {
                let _ = tx.send(SourceEvent::End).await;
                return;
            }
            Ended::Fatal(reason) => {
                let _ = tx.send(SourceEvent::Failed(reason)).await;
                return;
            }
            Ended::Retry { reason, fresh } => {
                if fresh {
                    backoff = BACKOFF_START;
                    attempt = 0;
                }
                reason
            }
            Ended::CatchUp => {
                backoff = BACKOFF_START;
                attempt = 0;
                continue;
            }
        };
        if !config.follow {
            let _ = tx.send(SourceEvent::Failed(reason)).await;
            return;
        }
        // Full jitter: many viewers of one restarted server should not reconnect in lockstep.
        let wait = backoff.mul_f64(rand::random_range(0.5..=1.0));
        backoff = (backoff * 2).min(BACKOFF_CAP);
        let retry_at = Instant::now() + wait;
        let state = ConnState::Reconnecting {
            target: target.clone(),
            retry_at,
            reason,
        };
        if tx.send(SourceEvent::State(state)).await.is_err() {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = tx.closed() => return,
        }
    }
}

fn request_url(base: &Url, config: &SourceConfig, position: &Position) -> Url {
    let resuming = position.last_seq.is_some() || position.cursor.is_some();
    let query = StreamQuery {
        filter: config.filter.clone(),
        tail: config.tail.filter(|_| !resuming),
        after: position.last_seq,
        boot: position.boot.clone().filter(|_| position.cursor.is_none()),
        follow: config.follow,
        // Offered unless the viewer wants one instance's own entries: a server publishing to
        // Redis then serves the merged stream, any other ignores it.
        cursor: config
            .merged
            .then(|| position.cursor.clone().unwrap_or_default()),
    };
    let mut url = base.clone();
    let mut full = url.query().map(str::to_owned).unwrap_or_default();
    let ours = query.to_query();
    if !ours.is_empty() {
        if !full.is_empty() {
            full.push('&');
        }
        full.push_str(&ours);
    }
    url.set_query(Some(&full).filter(|q| !q.is_empty()).map(String::as_str));
    url
}

async fn connect_once(
    base: &Url,
    token: Option<&str>,
    tls: &std::sync::Arc<rustls::ClientConfig>,
    config: &SourceConfig,
    since: Option<&Since>,
    position: &mut Position,
    tx: &Sender<SourceEvent>,
) -> Ended {
    let url = request_url(base, config, position);
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(e) => return Ended::Fatal(format!("cannot connect to {base}: {e}")),
    };
    if let Some(token) = token {
        match format!("Bearer {token}").parse() {
            Ok(value) => request.headers_mut().insert("authorization", value),
            Err(_) => {
                return Ended::Fatal("the token contains characters a header cannot carry".into());
            }
        };
    }
    let ws_config = WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME));
    // Used for `wss://` only; `ws://` stays plain.
    let connector = tokio_tungstenite::Connector::Rustls(std::sync::Arc::clone(tls));
    let connect = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(ws_config),
        true,
        Some(connector),
    );
    let mut socket = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
        Err(_) => {
            return retry(format!(
                "no answer from {base} within {}s",
                CONNECT_TIMEOUT.as_secs()
            ));
        }
        Ok(Err(e)) => return connect_error(base, &url, e, token.is_some()).await,
        Ok(Ok((socket, _))) => socket,
    };
    let mut fresh = false;
    loop {
        let frame = tokio::select! {
            frame = tokio::time::timeout(IDLE_TIMEOUT, socket.next()) => frame,
            () = tx.closed() => {
                let _ = socket.close(None).await;
                return Ended::ViewerGone;
            }
        };
        let message = match frame {
            Err(_) => {
                return Ended::Retry {
                    reason: format!("no data or ping for {}s", IDLE_TIMEOUT.as_secs()),
                    fresh,
                };
            }
            Ok(None) => {
                return Ended::Retry {
                    reason: "connection closed".into(),
                    fresh,
                };
            }
            Ok(Some(Err(e))) => {
                return Ended::Retry {
                    reason: format!("connection lost: {e}"),
                    fresh,
                };
            }
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(frame) => {
                let (code, reason) = frame.map_or((CloseCode::Normal, String::new()), |f| {
                    (f.code, f.reason.to_string())
                });
                return match code {
                    CloseCode::Normal if !config.follow => Ended::Complete,
                    CloseCode::Policy => {
                        Ended::Fatal(format!("server refused the stream: {reason}"))
                    }
                    CloseCode::Again => Ended::Retry {
                        reason: format!("server is full: {reason}"),
                        fresh: false,
                    },
                    // A server stopping in order (it sent what it owed first): no error code to
                    // show, just what it said, e.g. "server shutting down".
                    CloseCode::Normal if !reason.is_empty() => Ended::Retry { reason, fresh },
                    _ => Ended::Retry {
                        reason: format!("server closed the connection ({code}) {reason}")
                            .trim_end()
                            .to_owned(),
                        fresh,
                    },
                };
            }
            _ => continue,
        };
        // Said right after the event it belongs to.
        let mut then = None;
        // Only a plain stream: a merged one carries other instances' records as they published
        // them (any field order or level spelling a compatible publisher used), which decoding
        // writes in vg's own form.
        if config.pass_json && position.cursor.is_none() && text.starts_with(passed::FRAME_START) {
            let event = match JsonEntries::read(text.clone()) {
                Err(e) => SourceEvent::Notice(e.to_string()),
                Ok(mut entries) => {
                    if let Some(last) = position.last_seq {
                        entries.retain_after(last);
                    }
                    position.advance(entries.last_seq());
                    if entries.is_empty() {
                        continue;
                    }
                    SourceEvent::Json(entries)
                }
            };
            if tx.send(event).await.is_err() {
                return Ended::ViewerGone;
            }
            continue;
        }
        let event = match decode_server_frame(&text) {
            Err(e) => SourceEvent::Notice(e.to_string()),
            Ok(Incoming::Bare(entries)) => {
                // A simpler backend has no hello and no backfill: everything it sends is live.
                if !fresh {
                    fresh = true;
                    let state = ConnState::Connected {
                        target: base.to_string(),
                        server: "bare entries".into(),
                    };
                    for event in [SourceEvent::State(state), SourceEvent::Live] {
                        if tx.send(event).await.is_err() {
                            return Ended::ViewerGone;
                        }
                    }
                }
                SourceEvent::Entries(entries)
            }
            // A newer server's message this build does not know: nothing to show.
            Ok(Incoming::Unknown { .. }) => continue,
            Ok(Incoming::Message(message)) => match message {
                ServerMessage::Hello(hello) => {
                    fresh = true;
                    then = position
                        .history_note(&hello, since)
                        .map(SourceEvent::Notice);
                    // A merged stream goes by its cursor; a plain one by seq.
                    position.cursor = hello.cursor.clone();
                    if position.cursor.is_some() {
                        position.last_seq = None;
                    }
                    // Seqs restart with each boot: the old position means nothing to a new server.
                    if position
                        .boot
                        .as_ref()
                        .is_some_and(|boot| *boot != hello.boot)
                    {
                        position.last_seq = None;
                    }
                    position.boot = Some(hello.boot);
                    SourceEvent::State(ConnState::Connected {
                        target: base.to_string(),
                        server: format!("{} {}", hello.server, hello.version),
                    })
                }
                ServerMessage::Entries { entries } if position.cursor.is_some() => {
                    position.follow_cursor(&text);
                    SourceEvent::Entries(entries)
                }
                ServerMessage::Entries { mut entries } => {
                    // Never deliver a seq twice, whatever the server sends.
                    if let Some(last) = position.last_seq {
                        entries.retain(|e| e.seq.is_none_or(|s| s > last));
                    }
                    position.advance(entries.iter().rev().find_map(|e| e.seq));
                    if entries.is_empty() {
                        continue;
                    }
                    SourceEvent::Entries(entries)
                }
                // The skipped entries may well still be in history: ask for them rather than
                // report them lost. (What history no longer holds comes back as an exact
                // `evicted` gap.)
                ServerMessage::Gap(gap) if gap.reason == GapReason::Lagged && config.follow => {
                    let _ = socket.close(None).await;
                    return Ended::CatchUp;
                }
                ServerMessage::Gap(gap) => {
                    if let Some(to) = gap.to_seq {
                        position.last_seq = Some(position.last_seq.map_or(to, |s| s.max(to)));
                    }
                    SourceEvent::Gap(gap.into())
                }
                ServerMessage::Live => SourceEvent::Live,
                ServerMessage::Error { message } => {
                    SourceEvent::Notice(format!("server: {message}"))
                }
                ServerMessage::Alert(alert) => SourceEvent::Alert(alert),
                ServerMessage::Redis(state) => SourceEvent::Redis {
                    state,
                    server: None,
                },
            },
        };
        for event in std::iter::once(event).chain(then) {
            if tx.send(event).await.is_err() {
                return Ended::ViewerGone;
            }
        }
    }
}

/// The merged stream's cursor an `entries` frame carries after its entries, if any. Read apart
/// from the entries (which it skips without building), so the shared frame type stays as it is.
fn frame_cursor(text: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Cursor {
        cursor: Option<String>,
    }
    serde_json::from_str::<Cursor>(text).ok()?.cursor
}

fn retry(reason: String) -> Ended {
    Ended::Retry {
        reason,
        fresh: false,
    }
}

async fn connect_error(base: &Url, url: &Url, error: tungstenite::Error, had_token: bool) -> Ended {
    let not_vg = |answer: String| format!("no vg server at {base}: it answered {answer}");
    match error {
        tungstenite::Error::Http(response) => {
            let status = response.status();
            let body = response
                .body()
                .as_deref()
                .map(|b| {
                    String::from_utf8_lossy(b)
                        .trim()
                        .chars()
                        .take(200)
                        .collect::<String>()
                })
                .filter(|b| !b.is_empty())
                .map(|b| format!(": {}", crate::format::sanitize(&b)))
                .unwrap_or_default();
            let answer = format!("{:?} {status}", response.version());
            match status.as_u16() {
                401 if had_token => Ended::Fatal(format!(
                    "{base} rejected the token (401 unauthorized); check --token or VG_TOKEN"
                )),
                401 => Ended::Fatal(format!(
                    "{base} needs a token (401 unauthorized): pass --token or set VG_TOKEN"
                )),
                403 => Ended::Fatal(format!("{base} refused this client (403 forbidden){body}")),
                400 => Ended::Fatal(format!("{base} rejected the request{body}")),
                404 => Ended::Fatal(format!(
                    "{}; check the URL (vg streams at /api/logs/stream)",
                    not_vg(answer)
                )),
                // A proxy in front of an app that is restarting, or a server busy for now.
                429 | 500.. => retry(not_vg(answer)),
                // Anything else (a web page, a redirect) is some other server.
                _ => Ended::Fatal(not_vg(answer)),
            }
        }
        // tungstenite refuses HTTP/1.0 before reading the status: ask once more, plainly, so the
        // user learns what answered instead of a protocol error.
        tungstenite::Error::Protocol(tungstenite::error::ProtocolError::WrongHttpVersion) => {
            let answer = http10_status(url)
                .await
                .unwrap_or_else(|| "in HTTP/1.0".into());
            Ended::Fatal(not_vg(answer))
        }
        tungstenite::Error::Protocol(_) | tungstenite::Error::HttpFormat(_) => retry(format!(
            "no vg server at {base}: what answered does not speak HTTP"
        )),
        // A certificate that is wrong for this host or not trusted stays so: retrying cannot help.
        tungstenite::Error::Io(e) => match explain_tls(&e, base) {
            Some(reason) => Ended::Fatal(reason),
            None => retry(format!("cannot reach {base}: {e}")),
        },
        tungstenite::Error::Url(e) => Ended::Fatal(format!("invalid URL {base}: {e}")),
        other => retry(format!("cannot connect to {base}: {other}")),
    }
}

/// The status line a plain `ws://` server answers a GET with (`HTTP/1.0 404 File not found`),
/// sanitized; `None` for `wss://` or when it cannot be read within a few seconds.
async fn http10_status(url: &Url) -> Option<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    if url.scheme() != "ws" {
        return None;
    }
    let host = url.host_str()?;
    let port = url.port_or_known_default()?;
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
            .await
            .ok()?;
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            url.path(),
            &url[url::Position::BeforeHost..url::Position::AfterPort]
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = vec![0; 256];
        let mut read = 0;
        while read < head.len() && !head[..read].contains(&b'\n') {
            match stream.read(&mut head[read..]).await.ok()? {
                0 => break,
                n => read += n,
            }
        }
        let text = String::from_utf8_lossy(&head[..read]);
        let line = text.lines().next()?.trim();
        line.starts_with("HTTP/")
            .then(|| crate::format::sanitize(line).chars().take(80).collect())
    };
    tokio::time::timeout(Duration::from_secs(3), probe)
        .await
        .ok()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first event from a run, taken while the run waits for room to send the next one (the
    /// channel holds one): the run is then dropped, before it connects anywhere. (Which URLs get
    /// the warning is `url::exposes_token`'s test; a URL without it would start connecting here.)
    fn first_event(url: &str, token: Option<&str>) -> SourceEvent {
        use futures_util::FutureExt as _;
        let (tx, mut rx) = tokio::sync::mpsc::channel(1);
        let config = SourceConfig {
            kind: super::super::SourceKind::Stdin,
            filter: crate::FilterSpec::default(),
            tail: None,
            follow: true,
            pass_json: false,
            merged: true,
        };
        let tls = super::super::tls::client_config(&[]);
        let running = run(url.to_owned(), token.map(str::to_owned), tls, config, tx);
        // A tokio runtime is not needed: the run stops at the second send, before any I/O.
        assert!(running.now_or_never().is_none());
        rx.try_recv().expect("the run sent an event")
    }

    #[test]
    fn a_token_over_plain_ws_beyond_this_machine_is_warned_about_first() {
        match first_event("http://logs.example.com:7007", Some("t0ken")) {
            SourceEvent::Notice(text) => {
                assert!(
                    text.contains("logs.example.com") && text.contains("https://"),
                    "{text}"
                );
                assert!(!text.contains("t0ken"), "{text}");
            }
            other => panic!("expected the warning first, got {other:?}"),
        }
    }

    #[test]
    fn resume_asks_for_after_and_boot_instead_of_tail() {
        let base = stream_url("http://h:1/?app=a").unwrap();
        let config = SourceConfig {
            kind: super::super::SourceKind::Stdin,
            filter: crate::FilterSpec {
                level: Some("warn".into()),
                ..Default::default()
            },
            tail: Some(100),
            follow: true,
            pass_json: false,
            merged: true,
        };
        let first = request_url(&base, &config, &Position::default());
        assert_eq!(first.query(), Some("app=a&level=warn&tail=100&cursor="));
        let later = Position {
            last_seq: Some(41),
            boot: Some("b7".into()),
            ..Position::default()
        };
        assert_eq!(
            request_url(&base, &config, &later).query(),
            Some("app=a&level=warn&after=41&boot=b7&cursor=")
        );
        // On a merged stream the cursor alone says where to resume, on whichever instance.
        let merged = Position {
            boot: Some("b7".into()),
            cursor: Some("1764770000000-3".into()),
            ..Position::default()
        };
        assert_eq!(
            request_url(&base, &config, &merged).query(),
            Some("app=a&level=warn&cursor=1764770000000-3")
        );
        let frame = r#"{"type":"entries","entries":[{"message":"x"}],"cursor":"5-1"}"#;
        assert_eq!(frame_cursor(frame).as_deref(), Some("5-1"));
        assert_eq!(frame_cursor(r#"{"type":"entries","entries":[]}"#), None);
    }

    fn hello(oldest_time: Option<&str>) -> Hello {
        Hello {
            protocol: 1,
            server: "vg".into(),
            version: "0.1.0".into(),
            instance: None,
            boot: "b1".into(),
            newest_seq: Some(9),
            oldest_seq: Some(1),
            oldest_time: oldest_time.map(|t| t.parse().unwrap()),
            cursor: None,
        }
    }

    #[test]
    fn a_since_before_the_history_gets_one_note_saying_where_it_starts() {
        let since = Since {
            at: "2026-02-05T18:00:00Z".parse().unwrap(),
            typed: "10m".into(),
        };
        let later = hello(Some("2026-02-05T18:04:00.250Z"));
        let mut position = Position::default();
        assert_eq!(
            position.history_note(&later, Some(&since)).as_deref(),
            Some(
                "the server's history starts at 2026-02-05T18:04:00.250Z (its oldest entry), later than --since 10m"
            )
        );
        assert_eq!(
            position.history_note(&later, Some(&since)),
            None,
            "said once, not again on a reconnect"
        );
    }

    #[test]
    fn no_note_when_the_history_covers_since_or_nothing_says_where_it_starts() {
        let since = Since {
            at: "2026-02-05T18:00:00Z".parse().unwrap(),
            typed: "2026-02-05T18:00:00Z".into(),
        };
        for (hello, since) in [
            (hello(Some("2026-02-05T17:59:00Z")), Some(&since)),
            (hello(Some("2026-02-05T18:00:00Z")), Some(&since)),
            (hello(None), Some(&since)),
            (hello(Some("2026-02-05T18:04:00Z")), None),
        ] {
            assert_eq!(Position::default().history_note(&hello, since), None);
        }
        // A resume continues a stream that already began: its history is not news.
        let mut resumed = Position {
            last_seq: Some(3),
            ..Position::default()
        };
        assert_eq!(
            resumed.history_note(&hello(Some("2026-02-05T18:04:00Z")), Some(&since)),
            None
        );
    }
}
