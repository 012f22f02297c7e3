//! Where a viewer's entries come from: a vg server over WebSocket, a file, or stdin.
//!
//! Every source runs as a task that never "fails": it reports what happens as [`SourceEvent`]s on a
//! bounded channel (connection state, batches of entries, gaps, notices, the end of a finite source).
//! `vg logs` and `vg tui` consume the same events. The channel being bounded is the backpressure: a
//! viewer that cannot keep up stops the reader, and the server then reports the lag as a gap.

mod file;
pub(crate) mod lines;
mod merge;
mod passed;
mod tls;
mod url;
mod websocket;

use std::path::PathBuf;
use std::time::Instant;

use tokio::sync::mpsc;

pub(crate) use file::chunks::{FormatEntry, Kept, Next, worker_count};
pub(crate) use file::format_whole;
pub use merge::REORDER_WINDOW;
pub use passed::{JsonEntries, Passed};
pub use tls::{CaCertError, load_ca_certs};
pub use url::{ServerUrlError, stream_url};

use crate::filter::{Filter, FilterSpec};
use crate::model::LogEntry;
use crate::wire::Gap;

/// How many events may wait for the viewer before the source stops reading.
pub const CHANNEL_CAPACITY: usize = 64;
/// The same for a file or stdin, whose batches are bounded in bytes (see `file`): a reader that is
/// ahead of the viewer holds at most this many batches, so memory stays small however large the
/// file (a disk outruns any terminal, so the queue is always full while a large file is read).
const LOCAL_CHANNEL_CAPACITY: usize = 4;

/// The state of a source's connection, shown to the user rather than returned as an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnState {
    /// Trying to connect (attempt counts from 1).
    Connecting {
        /// Where.
        target: String,
        /// Which attempt this is.
        attempt: u32,
    },
    /// Connected and receiving.
    Connected {
        /// Where.
        target: String,
        /// The server's name and version, e.g. `vg 0.1.0`.
        server: String,
    },
    /// Lost or refused; retrying at `retry_at`.
    Reconnecting {
        /// Where.
        target: String,
        /// When the next attempt starts.
        retry_at: Instant,
        /// What went wrong, in one line.
        reason: String,
    },
    /// Given up, or the source ended; no more entries will come.
    Disconnected {
        /// Why, in one line.
        reason: String,
    },
}

/// What a source reports.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// The connection changed state.
    State(ConnState),
    /// Entries, oldest first. From a server they are in seq order and never repeat.
    Entries(Vec<LogEntry>),
    /// As `Entries`, each as the server wrote it where it can be passed on as is; only from a
    /// server source asked for it ([`SourceConfig::pass_json`]).
    Json(JsonEntries),
    /// Entries that will never arrive, with the exact count when the server knows it.
    Gap(SourceGap),
    /// The backfill (history, or the existing contents of a file) is complete; what follows is live.
    Live,
    /// Something to tell the user in one line (e.g. unreadable input, an error the server sent).
    Notice(String),
    /// One of the server's alert rules fired or resolved.
    Alert(crate::wire::Alert),
    /// How the server's publishing to Redis goes (a merged stream only).
    Redis {
        /// The instance's figures, as the server sent them.
        state: crate::wire::RedisState,
        /// Which server, when several are merged (`--url` more than once).
        server: Option<String>,
    },
    /// A fatal problem for a source that will not retry (e.g. file not found, refused with
    /// `--no-follow`, a filter the server rejected). The source stops after sending it.
    Failed(String),
    /// A finite source is done (a file read without follow, or the server closed a non-follow stream).
    End,
}

/// A gap in one source's stream: the server's [`Gap`], and which server it came from when several
/// are merged, so the line that reports it can say where entries were lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceGap {
    /// The gap as the server reported it.
    pub gap: Gap,
    /// The server's label (as merged entries are tagged), when several are merged.
    pub server: Option<String>,
}

impl SourceGap {
    /// The gap as one sentence (see [`Gap::describe`]), after the server's label when there is
    /// one: `:7008: 1,234 entries missed (no longer in server history)`.
    pub fn describe(&self, filtered: bool) -> String {
        match &self.server {
            Some(server) => format!("{server}: {}", self.gap.describe(filtered)),
            None => self.gap.describe(filtered),
        }
    }

    /// Whether entries were lost (see [`Gap::is_loss`]).
    pub fn is_loss(&self) -> bool {
        self.gap.is_loss()
    }
}

impl From<Gap> for SourceGap {
    fn from(gap: Gap) -> SourceGap {
        SourceGap { gap, server: None }
    }
}

/// Which kind of source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceKind {
    /// A vg server (or any backend that speaks the protocol or sends bare entries).
    Server {
        /// The URL as the user wrote it; normalized by [`stream_url`].
        url: String,
        /// Bearer token for the Authorization header.
        token: Option<String>,
        /// CA certificates trusted for `wss://` besides the built-in roots (see
        /// [`load_ca_certs`]).
        ca_certs: Vec<rustls::pki_types::CertificateDer<'static>>,
    },
    /// A file of NDJSON or text lines.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

/// Everything a source needs to start.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Where to read.
    pub kind: SourceKind,
    /// The filter pushed down to a server, or run by a file's or stdin's reader as it decodes
    /// (consumers still filter locally).
    pub filter: FilterSpec,
    /// How many recent matching entries a server should backfill (`None`: all that match, which with
    /// `since` means the whole window).
    pub tail: Option<usize>,
    /// Keep going after the backfill: reconnect to a server, follow a growing file.
    pub follow: bool,
    /// A server's entries come as [`SourceEvent::Json`], for a consumer that only prints their
    /// JSON (`vg logs --json`); one source merged with others ignores it.
    pub pass_json: bool,
    /// Ask a server publishing to Redis for the merged stream of every instance (any other server
    /// ignores the question); `false` reads its own entries only.
    pub merged: bool,
}

/// Starts the source on the current tokio runtime. Events arrive on the returned receiver; dropping it
/// stops the source.
pub fn spawn(config: SourceConfig) -> mpsc::Receiver<SourceEvent> {
    let capacity = match config.kind {
        SourceKind::Server { .. } => CHANNEL_CAPACITY,
        SourceKind::File(_) | SourceKind::Stdin => LOCAL_CHANNEL_CAPACITY,
    };
    let (tx, rx) = mpsc::channel(capacity);
    // A file's reader applies the filter as it decodes (a server applies it before sending). One
    // that does not compile is the viewer's to report; the reader then passes everything.
    let local_filter = || {
        config
            .filter
            .compile(chrono::Utc::now())
            .unwrap_or_else(|_| Filter::all())
    };
    match config.kind.clone() {
        SourceKind::Server {
            url,
            token,
            ca_certs,
        } => {
            let tls = tls::client_config(&ca_certs);
            tokio::spawn(websocket::run(url, token, tls, config, tx));
        }
        SourceKind::File(path) => {
            let (follow, filter) = (config.follow, local_filter());
            tokio::task::spawn_blocking(move || file::read_file(&path, follow, &filter, &tx));
        }
        SourceKind::Stdin => {
            let filter = local_filter();
            tokio::task::spawn_blocking(move || file::read_stdin(&filter, &tx));
        }
    }
    rx
}

/// Starts every source and merges them into one channel: one server is [`spawn`] itself; several
/// (`--url` given more than once) are read each on its own connection and merged by timestamp
/// within [`REORDER_WINDOW`], each entry without an instance tagged with its server's `host:port`.
pub fn spawn_all(mut configs: Vec<SourceConfig>) -> mpsc::Receiver<SourceEvent> {
    if configs.len() == 1
        && let Some(config) = configs.pop()
    {
        return spawn(config);
    }
    merge::spawn(configs)
}
