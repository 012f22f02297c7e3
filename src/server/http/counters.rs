//! The gateway's own counters for `GET /metrics`: relaxed atomics bumped by the ingest handlers, the
//! viewer connections and `vg serve --stdin`, once per request or frame. Nothing here is touched by
//! `emit()`: entries an app emits directly are every seq stamped since the gateway started, less
//! those counted here, computed at scrape time.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::wire::GapReason;

/// How entries came in other than through the app's own `emit()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ingest {
    /// `POST /api/logs`.
    Http,
    /// `POST /v1/logs`.
    Otlp,
    /// `POST /loki/api/v1/push`.
    Loki,
    /// `vg serve --stdin`.
    Stdin,
}

impl Ingest {
    pub(crate) const ALL: [Ingest; 4] = [Ingest::Http, Ingest::Otlp, Ingest::Loki, Ingest::Stdin];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Ingest::Http => "http",
            Ingest::Otlp => "otlp",
            Ingest::Loki => "loki",
            Ingest::Stdin => "stdin",
        }
    }
}

pub(crate) const GAP_REASONS: [GapReason; 3] =
    [GapReason::Lagged, GapReason::Evicted, GapReason::Restart];

/// The counters one gateway keeps.
#[derive(Debug)]
pub(crate) struct Metrics {
    /// The newest seq when the gateway started: what was stamped before is not its to count.
    pub(crate) first_seq: u64,
    pub(crate) ingested: [AtomicU64; 4],
    pub(crate) rejected: [AtomicU64; 4],
    pub(crate) refused: [AtomicU64; 4],
    /// The highest `emit` count reported, so the computed figure never goes down (the path counters
    /// and the seq are read at slightly different moments).
    pub(crate) emitted_reported: AtomicU64,
    pub(crate) gaps: [AtomicU64; 3],
    pub(crate) missed: AtomicU64,
    pub(crate) sent_bytes: AtomicU64,
    pub(crate) sent_frames: AtomicU64,
}

impl Metrics {
    pub(crate) fn new(first_seq: u64) -> Metrics {
        Metrics {
            first_seq,
            ingested: Default::default(),
            rejected: Default::default(),
            refused: Default::default(),
            emitted_reported: AtomicU64::new(0),
            gaps: Default::default(),
            missed: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            sent_frames: AtomicU64::new(0),
        }
    }

    /// Entries taken in by `path`.
    pub(crate) fn ingested(&self, path: Ingest, entries: usize) {
        self.ingested[path as usize].fetch_add(entries as u64, Ordering::Relaxed);
    }

    /// Entries (lines, records) of an accepted request that could not be read.
    pub(crate) fn rejected(&self, path: Ingest, entries: usize) {
        self.rejected[path as usize].fetch_add(entries as u64, Ordering::Relaxed);
    }

    /// A whole request refused (unreadable, too large, wrong type), nothing taken from it.
    pub(crate) fn refused(&self, path: Ingest) {
        self.refused[path as usize].fetch_add(1, Ordering::Relaxed);
    }

    /// A gap sent to a viewer.
    pub(crate) fn gap(&self, reason: GapReason, missed: u64) {
        let at = GAP_REASONS.iter().position(|r| *r == reason).unwrap_or(0);
        self.gaps[at].fetch_add(1, Ordering::Relaxed);
        self.missed.fetch_add(missed, Ordering::Relaxed);
    }

    /// A WebSocket frame of `bytes` written to a viewer.
    pub(crate) fn sent(&self, bytes: usize) {
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.sent_frames.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn load(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
