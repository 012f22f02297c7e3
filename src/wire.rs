//! The WebSocket protocol between a vg server and its viewers; `docs/protocol.md` is its prose form.
//!
//! Server to client: JSON text frames tagged by `type` ([`ServerMessage`]). Client to server:
//! [`ClientMessage`]. Clients also accept a frame that is a bare entry or an array of entries, so they
//! work against simpler backends such as the original prototype's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::filter::{Filter, FilterSpec};
use crate::model::decode::decode_json;
use crate::model::{DEFAULT_SOURCE, LogEntry};

mod alert;

pub use self::alert::{Alert, AlertState};

/// The protocol version this build speaks, sent in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The stream endpoint's path.
pub const STREAM_PATH: &str = "/api/logs/stream";

/// The first message on every connection, sent once the connection is subscribed: nothing emitted after
/// `hello` can be missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// [`PROTOCOL_VERSION`] of the server.
    pub protocol: u32,
    /// The server's name (`vg`, or the embedding app's).
    pub server: String,
    /// The server's version.
    pub version: String,
    /// The instance this server runs as, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Unique to this start of the server; a client resuming with another `boot` missed a restart.
    pub boot: String,
    /// The newest seq stamped so far, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_seq: Option<u64>,
    /// The oldest seq still retained in history, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_seq: Option<u64>,
    /// The timestamp of the oldest entry still retained, if any: a client asking for `since` a time
    /// before it can say where history starts instead of silently showing less.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_time: Option<DateTime<Utc>>,
    /// Only on a merged stream (asked for with `cursor`): the position in the merged stream of all
    /// instances this connection starts after. Any instance sharing the Redis stream understands it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
}

/// Why entries were missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// The client read too slowly and the server moved on.
    Lagged,
    /// The entries fell out of the server's bounded history before the client asked for them.
    Evicted,
    /// The server restarted; what the previous start held is gone.
    Restart,
}

impl GapReason {
    /// How the reason reads in a sentence.
    pub fn describe(self) -> &'static str {
        match self {
            GapReason::Lagged => "viewer fell behind",
            GapReason::Evicted => "no longer in server history",
            GapReason::Restart => "server restarted",
        }
    }
}

/// Entries this client will never receive, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    /// How many entries were missed (0 when unknown, as after a restart). For a `restart` gap with
    /// seqs (a durable history after a crash), how many seqs may have been lost: at most this many
    /// entries.
    pub missed: u64,
    /// First missed seq, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_seq: Option<u64>,
    /// Last missed seq, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_seq: Option<u64>,
    /// Why.
    pub reason: GapReason,
}

impl Gap {
    /// The gap as one sentence, the one `vg logs` and the TUI both show, so the same gap reads the
    /// same everywhere: `1,234 entries missed (no longer in server history)`.
    ///
    /// `filtered`: the stream has a server-side filter. `missed` counts seqs, so some of them would
    /// not have been shown anyway, and the count is then an upper bound (`up to 1,234 ...`).
    ///
    /// A restart gap without a count claims no loss: after a graceful restart the server sent every
    /// entry before closing, and all the client knows is that a new stream began.
    pub fn describe(&self, filtered: bool) -> String {
        // A restart gap with a count comes from a durable history after a crash: it counts the
        // seqs the previous start may have stamped without writing, so it too is an upper bound.
        let filtered = filtered || self.reason == GapReason::Restart;
        let count = match self.missed {
            0 => String::new(),
            n => format!(
                "{}{} {} missed",
                if filtered { "up to " } else { "" },
                crate::format::thousands(n),
                if n == 1 { "entry" } else { "entries" }
            ),
        };
        match (self.reason, count.is_empty()) {
            (GapReason::Restart, true) => "server restarted; a new stream began".into(),
            // An upper bound that is mostly seqs reserved ahead and never used: said as such, so
            // that a crash that lost nothing does not read like thousands of entries gone.
            (GapReason::Restart, false) => {
                format!("server restarted after a crash; {count} (those it had not written yet)")
            }
            (reason, true) => format!("entries missed ({})", reason.describe()),
            (reason, false) => format!("{count} ({})", reason.describe()),
        }
    }

    /// Whether entries are known or said to be lost: every gap but a restart that counts none.
    pub fn is_loss(&self) -> bool {
        self.reason != GapReason::Restart || self.missed > 0
    }
}

/// A message from server to client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Connection established and subscribed.
    Hello(Hello),
    /// A batch of entries in seq order.
    Entries {
        /// The entries.
        entries: Vec<LogEntry>,
    },
    /// Entries this client will never receive.
    Gap(Gap),
    /// Backfill is done; what follows is live.
    Live,
    /// Something the client should show a person, e.g. an invalid filter.
    Error {
        /// Human-readable text.
        message: String,
    },
    /// One of the server's alert rules fired or resolved.
    Alert(Alert),
    /// Only on a merged stream: how the connected instance's publishing to Redis goes (its
    /// `/healthz` `redis` figures), after `hello` and whenever they change, at most once a second.
    Redis(RedisState),
}

/// How an instance's publishing to Redis goes, as a merged viewer is told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedisState {
    /// `connecting` (no answer yet), `up` or `down`.
    pub state: String,
    /// The instance's entries waiting to be published.
    pub buffered: u64,
    /// The instance's entries dropped from a full buffer since it started.
    pub overflow: u64,
}

/// The `type` tags this build understands; a client skips any other (a newer server's).
const KNOWN_TYPES: &[&str] = &["hello", "entries", "gap", "live", "error", "alert", "redis"];

impl ServerMessage {
    /// Encodes the message as a JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server messages always serialize")
    }
}

/// A message from client to server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// Replace this connection's filter.
    Filter(FilterSpec),
}

/// What a client makes of one text frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A protocol message.
    Message(ServerMessage),
    /// Entries from a simpler backend: a bare entry or an array of them.
    Bare(Vec<LogEntry>),
    /// A message of a type this build does not know, from a newer server: skipped, so that servers
    /// can add messages without breaking older clients.
    Unknown {
        /// The message's `type`.
        kind: String,
    },
}

/// A frame the client could not understand.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable frame from server ({reason}): {excerpt}")]
pub struct FrameError {
    reason: String,
    excerpt: String,
}

impl FrameError {
    pub(crate) fn new(text: &str, reason: impl ToString) -> FrameError {
        let mut excerpt: String = text.chars().take(80).collect();
        if excerpt.len() < text.len() {
            excerpt.push('…');
        }
        FrameError {
            reason: reason.to_string(),
            excerpt,
        }
    }
}

/// Only the tag, read without building the rest: the hot `entries` frame is then decoded straight into
/// its struct instead of through serde's buffered internally-tagged path.
#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct EntriesFrame {
    entries: Vec<LogEntry>,
}

/// Decodes one text frame from a server.
pub fn decode_server_frame(text: &str) -> Result<Incoming, FrameError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<&serde_json::value::RawValue> =
            serde_json::from_str(trimmed).map_err(|e| FrameError::new(text, e))?;
        let entries = values
            .into_iter()
            .map(|raw| decode_json(raw.get(), DEFAULT_SOURCE).map(|(entry, _)| entry))
            .collect::<Result<_, _>>()
            .map_err(|e| FrameError::new(text, e))?;
        return Ok(Incoming::Bare(entries));
    }
    // vg servers write the tag first; then the hot frame needs no separate pass to find it.
    if trimmed.starts_with(r#"{"type":"entries","#) {
        return serde_json::from_str::<EntriesFrame>(trimmed)
            .map(|f| Incoming::Message(ServerMessage::Entries { entries: f.entries }))
            .map_err(|e| FrameError::new(text, e));
    }
    let tag: Tag<'_> = serde_json::from_str(trimmed).map_err(|e| FrameError::new(text, e))?;
    match tag.kind.as_deref() {
        Some("entries") => serde_json::from_str::<EntriesFrame>(trimmed)
            .map(|f| Incoming::Message(ServerMessage::Entries { entries: f.entries }))
            .map_err(|e| FrameError::new(text, e)),
        Some(kind) if !KNOWN_TYPES.contains(&kind) => Ok(Incoming::Unknown {
            kind: kind.to_owned(),
        }),
        Some(_) => serde_json::from_str(trimmed)
            .map(Incoming::Message)
            .map_err(|e| FrameError::new(text, e)),
        None => decode_json(trimmed, DEFAULT_SOURCE)
            .map(|(entry, _)| Incoming::Bare(vec![entry]))
            .map_err(|e| FrameError::new(text, e)),
    }
}

/// The stream endpoint's query: a filter plus where to start and whether to keep following.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamQuery {
    /// Which entries to send.
    pub filter: FilterSpec,
    /// Backfill the last N matching entries before going live.
    pub tail: Option<usize>,
    /// Resume: send everything retained with a greater seq.
    pub after: Option<u64>,
    /// The `boot` id the `after` seq belongs to.
    pub boot: Option<String>,
    /// `false`: send the backfill, then close normally.
    pub follow: bool,
    /// Asks for the merged stream of all instances (a server publishing to Redis): `Some("")` to
    /// start at the end (after the `tail` backfill), `Some(id)` to resume after that merged cursor.
    pub cursor: Option<String>,
}

/// A query parameter that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query parameter {key}='{value}': {expected}")]
pub struct QueryError {
    key: String,
    value: String,
    expected: &'static str,
}

impl StreamQuery {
    /// Parses a URL query string (without the `?`). Unknown keys are ignored so newer clients work
    /// with older servers.
    pub fn from_query(query: &str) -> Result<StreamQuery, QueryError> {
        let mut out = StreamQuery {
            follow: true,
            ..StreamQuery::default()
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let bad = |expected| QueryError {
                key: key.to_string(),
                value: value.to_string(),
                expected,
            };
            match key.as_ref() {
                // `limit` is what the history endpoint calls it: one parser serves both.
                "tail" | "limit" => {
                    out.tail = Some(value.parse().map_err(|_| bad("a whole number"))?);
                }
                "after" => out.after = Some(value.parse().map_err(|_| bad("a seq number"))?),
                "boot" => out.boot = Some(value.to_string()).filter(|b| !b.is_empty()),
                "cursor" => {
                    if !value.is_empty() && !is_stream_id(&value) {
                        return Err(bad("a merged cursor such as 1764770000000-0, or empty"));
                    }
                    out.cursor = Some(value.to_string());
                }
                "follow" => {
                    out.follow = match value.as_ref() {
                        "" | "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => return Err(bad("true or false")),
                    }
                }
                other => {
                    out.filter.set_param(other, &value);
                }
            }
        }
        Ok(out)
    }

    /// Parses a query string and compiles its filter against `now`: what a server needs from a
    /// request, either failure as one line for the client.
    pub fn parse_compiled(
        query: &str,
        now: DateTime<Utc>,
    ) -> Result<(StreamQuery, Filter), String> {
        let query = StreamQuery::from_query(query).map_err(|e| e.to_string())?;
        let filter = query.filter.compile(now).map_err(|e| e.to_string())?;
        Ok((query, filter))
    }

    /// The query string (without the `?`).
    pub fn to_query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        self.filter.append_query(&mut query);
        if let Some(tail) = self.tail {
            query.append_pair("tail", &tail.to_string());
        }
        if let Some(after) = self.after {
            query.append_pair("after", &after.to_string());
        }
        if let Some(boot) = &self.boot {
            query.append_pair("boot", boot);
        }
        if !self.follow {
            query.append_pair("follow", "false");
        }
        if let Some(cursor) = &self.cursor {
            query.append_pair("cursor", cursor);
        }
        query.finish()
    }
}

/// Whether `s` reads as a Redis stream id, `MILLISECONDS-SEQUENCE`.
fn is_stream_id(s: &str) -> bool {
    let digits = |p: &str| !p.is_empty() && p.len() <= 20 && p.bytes().all(|b| b.is_ascii_digit());
    s.split_once('-')
        .is_some_and(|(ms, seq)| digits(ms) && digits(seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn round_trip(message: ServerMessage, json: &str) {
        assert_eq!(message.to_json(), json);
        assert_eq!(
            decode_server_frame(json).unwrap(),
            Incoming::Message(message)
        );
    }

    #[test]
    fn server_messages_round_trip() {
        round_trip(
            ServerMessage::Hello(Hello {
                protocol: 1,
                server: "vg".into(),
                version: "0.1.0".into(),
                instance: Some("148e".into()),
                boot: "b1".into(),
                newest_seq: Some(10),
                oldest_seq: Some(1),
                oldest_time: None,
                cursor: None,
            }),
            r#"{"type":"hello","protocol":1,"server":"vg","version":"0.1.0","instance":"148e","boot":"b1","newest_seq":10,"oldest_seq":1}"#,
        );
        round_trip(
            ServerMessage::Gap(Gap {
                missed: 3,
                from_seq: Some(4),
                to_seq: Some(6),
                reason: GapReason::Lagged,
            }),
            r#"{"type":"gap","missed":3,"from_seq":4,"to_seq":6,"reason":"lagged"}"#,
        );
        round_trip(ServerMessage::Live, r#"{"type":"live"}"#);
        round_trip(
            ServerMessage::Error {
                message: "bad regex".into(),
            },
            r#"{"type":"error","message":"bad regex"}"#,
        );
        let entry: LogEntry = serde_json::from_str(
            r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"hi","seq":1}"#,
        )
        .unwrap();
        round_trip(
            ServerMessage::Entries {
                entries: vec![entry],
            },
            r#"{"type":"entries","entries":[{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"hi","seq":1}]}"#,
        );
        round_trip(
            ServerMessage::Alert(Alert {
                rule: "api errors".into(),
                state: AlertState::Firing,
                at: "2026-02-05T18:13:38Z".parse().unwrap(),
                count: 7,
                suppressed: 0,
                group: Some("/x".into()),
                summary: "[firing] api errors (/x): 7 in 1m (threshold 5)".into(),
            }),
            r#"{"type":"alert","rule":"api errors","state":"firing","at":"2026-02-05T18:13:38Z","count":7,"suppressed":0,"group":"/x","summary":"[firing] api errors (/x): 7 in 1m (threshold 5)"}"#,
        );
    }

    #[test]
    fn a_message_type_from_a_newer_server_is_skipped_not_an_error() {
        assert_eq!(
            decode_server_frame(r#"{"type":"pause","until":"2026-02-05T18:13:38Z"}"#).unwrap(),
            Incoming::Unknown {
                kind: "pause".into()
            }
        );
        // A known type that does not parse is still an error: that is a broken server, not a newer one.
        let err = decode_server_frame(r#"{"type":"gap","missed":"many"}"#).unwrap_err();
        assert!(err.to_string().contains("unreadable frame"), "{err}");
    }

    #[test]
    fn an_alert_line_cannot_drive_the_terminal() {
        let alert = Alert {
            rule: "r".into(),
            state: AlertState::Resolved,
            at: "2026-02-05T18:13:38Z".parse().unwrap(),
            count: 0,
            suppressed: 0,
            group: None,
            summary: "[resolved] r\x1b[2J; last: x\ny".into(),
        };
        assert_eq!(alert.line(), r"[resolved] r\e[2J; last: x\ny");
    }

    #[test]
    fn a_gap_reads_as_one_sentence() {
        let gap = |missed, reason| Gap {
            missed,
            from_seq: None,
            to_seq: None,
            reason,
        };
        let cases = [
            (
                gap(1234, GapReason::Lagged),
                false,
                "1,234 entries missed (viewer fell behind)",
            ),
            (
                gap(1234, GapReason::Evicted),
                true,
                "up to 1,234 entries missed (no longer in server history)",
            ),
            (
                gap(1, GapReason::Evicted),
                false,
                "1 entry missed (no longer in server history)",
            ),
            (
                gap(0, GapReason::Lagged),
                true,
                "entries missed (viewer fell behind)",
            ),
            (
                gap(0, GapReason::Restart),
                true,
                "server restarted; a new stream began",
            ),
            (
                gap(5, GapReason::Restart),
                false,
                "server restarted after a crash; up to 5 entries missed (those it had not written yet)",
            ),
        ];
        for (gap, filtered, want) in cases {
            assert_eq!(gap.describe(filtered), want, "{gap:?}");
        }
        // After a graceful restart nothing is missed, and nothing says so.
        let restart = gap(0, GapReason::Restart);
        assert!(!restart.is_loss() && !restart.describe(false).contains("miss"));
        assert!(gap(3, GapReason::Evicted).is_loss());
    }

    #[test]
    fn the_merged_cursor_is_a_stream_id_or_empty() {
        let query = StreamQuery::from_query("cursor=1764770000000-3&tail=5").unwrap();
        assert_eq!(query.cursor.as_deref(), Some("1764770000000-3"));
        assert_eq!(StreamQuery::from_query(&query.to_query()).unwrap(), query);
        assert_eq!(
            StreamQuery::from_query("cursor=")
                .unwrap()
                .cursor
                .as_deref(),
            Some("")
        );
        assert_eq!(StreamQuery::from_query("").unwrap().cursor, None);
        let bad = StreamQuery::from_query("cursor=latest")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("cursor='latest'") && bad.contains("1764770000000-0"),
            "{bad}"
        );
    }

    #[test]
    fn client_filter_message_round_trips() {
        let json = r#"{"type":"filter","level":"warn","source":["api"],"where":["status>=500"]}"#;
        let message: ClientMessage = serde_json::from_str(json).unwrap();
        let ClientMessage::Filter(spec) = &message;
        assert_eq!(spec.level.as_deref(), Some("warn"));
        assert_eq!(serde_json::to_string(&message).unwrap(), json);
    }

    #[test]
    fn bare_entries_and_arrays_from_simpler_backends() {
        let one = r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"error","source":"api","message":"x"}"#;
        let Incoming::Bare(entries) = decode_server_frame(one).unwrap() else {
            panic!()
        };
        assert_eq!(entries[0].level, Level::Error);
        let Incoming::Bare(entries) = decode_server_frame(&format!("[{one},{one}]")).unwrap()
        else {
            panic!()
        };
        assert_eq!(entries.len(), 2);
    }

    #[test]
    fn garbage_frames_are_errors_with_an_excerpt() {
        let err = decode_server_frame("not json at all")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("unreadable frame from server") && err.ends_with("not json at all"),
            "{err}"
        );
        assert!(decode_server_frame(r#"{"type":"entries","entries":5}"#).is_err());
    }

    #[test]
    fn stream_query_round_trip() {
        let q = StreamQuery::from_query(
            "level=warn&source=api&tail=50&after=9&boot=abc&follow=false&future=1",
        )
        .unwrap();
        assert_eq!(
            (q.tail, q.after, q.boot.as_deref(), q.follow),
            (Some(50), Some(9), Some("abc"), false)
        );
        assert_eq!(StreamQuery::from_query(&q.to_query()).unwrap(), q);
        assert!(StreamQuery::from_query("").unwrap().follow);
        let err = StreamQuery::from_query("tail=lots")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid query parameter tail='lots': a whole number");
        let history = StreamQuery::from_query("limit=5&after=9&source=api,db").unwrap();
        assert_eq!((history.tail, history.after), (Some(5), Some(9)));
        assert_eq!(history.filter.source, ["api", "db"]);
    }
}
