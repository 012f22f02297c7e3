//! `GET /metrics`: the gateway's figures in Prometheus's text exposition format, read from the
//! store (history, sinks) and the gateway's counters (`counters`) when scraped.
//!
//! The format is written by hand: a few dozen lines of `name{label="value"} number`, where a
//! metrics library would want a registry of collectors wrapped around figures that already live in
//! the store (history, sinks) and are read only when scraped.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::auth::Authorized;
use super::counters::{GAP_REASONS, Ingest, Metrics};
use super::ratelimit::Limited;
use super::state::Shared;
use crate::server::{DiskStats, RedisStats};
use crate::wire::GapReason;

/// The route.
pub(crate) const PATH: &str = "/metrics";

pub(crate) async fn handle(_: Authorized, State(shared): State<Arc<Shared>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        render(&shared),
    )
        .into_response()
}

/// The exposition text.
fn render(shared: &Shared) -> String {
    let metrics = &shared.metrics;
    let mut out = Exposition(String::with_capacity(4096));

    // Paths count an entry just before recording it, so reading them first and the seq after can
    // only make the computed `emit` figure lag for a moment, never overshoot.
    let by_path: Vec<(Ingest, u64)> = Ingest::ALL
        .iter()
        .map(|&p| (p, Metrics::load(&metrics.ingested[p as usize])))
        .collect();
    let history = shared.emitter.stats();
    let stamped = history
        .newest_seq
        .unwrap_or(0)
        .saturating_sub(metrics.first_seq);
    let from_paths: u64 = by_path.iter().map(|(_, n)| n).sum();
    let emitted = stamped.saturating_sub(from_paths);
    let emitted = metrics
        .emitted_reported
        .fetch_max(emitted, Ordering::Relaxed)
        .max(emitted);

    out.family(
        "vg_entries_ingested_total",
        "counter",
        "Entries taken in since the gateway started, by how they came (emit: the app's own emit(), request log and tracing bridge).",
    );
    out.sample("vg_entries_ingested_total", &[("path", "emit")], emitted);
    for (path, n) in &by_path {
        out.sample("vg_entries_ingested_total", &[("path", path.label())], *n);
    }
    out.family(
        "vg_entries_rejected_total",
        "counter",
        "Lines or records of an ingest request that could not be read (the rest of the request was taken).",
    );
    for path in &Ingest::ALL[..3] {
        let n = Metrics::load(&metrics.rejected[*path as usize]);
        out.sample("vg_entries_rejected_total", &[("path", path.label())], n);
    }
    out.family(
        "vg_ingest_requests_refused_total",
        "counter",
        "Ingest requests refused whole (unreadable, too large, unsupported type or encoding).",
    );
    for path in &Ingest::ALL[..3] {
        let n = Metrics::load(&metrics.refused[*path as usize]);
        out.sample(
            "vg_ingest_requests_refused_total",
            &[("path", path.label())],
            n,
        );
    }

    out.family(
        "vg_history_entries",
        "gauge",
        "Entries held in memory history.",
    );
    out.sample("vg_history_entries", &[], history.entries as u64);
    out.family(
        "vg_history_bytes",
        "gauge",
        "Bytes charged for the entries held in memory history.",
    );
    out.sample("vg_history_bytes", &[], history.bytes as u64);
    out.family(
        "vg_history_newest_seq",
        "gauge",
        "The newest seq stamped (0 before the first entry).",
    );
    out.sample(
        "vg_history_newest_seq",
        &[],
        history.newest_seq.unwrap_or(0),
    );

    out.family(
        "vg_viewers",
        "gauge",
        "Viewers (WebSocket streams) connected.",
    );
    out.sample("vg_viewers", &[], shared.viewers() as u64);
    out.family(
        "vg_viewer_gaps_total",
        "counter",
        "Gaps sent to viewers, by reason.",
    );
    for (at, reason) in GAP_REASONS.iter().enumerate() {
        out.sample(
            "vg_viewer_gaps_total",
            &[("reason", reason_label(*reason))],
            Metrics::load(&metrics.gaps[at]),
        );
    }
    out.family(
        "vg_viewer_missed_entries_total",
        "counter",
        "Entries viewers were told they missed, summed over the gaps sent.",
    );
    out.sample(
        "vg_viewer_missed_entries_total",
        &[],
        Metrics::load(&metrics.missed),
    );
    out.family(
        "vg_viewer_sent_bytes_total",
        "counter",
        "Bytes of WebSocket messages written to viewers.",
    );
    out.sample(
        "vg_viewer_sent_bytes_total",
        &[],
        Metrics::load(&metrics.sent_bytes),
    );
    out.family(
        "vg_viewer_sent_frames_total",
        "counter",
        "WebSocket messages written to viewers.",
    );
    out.sample(
        "vg_viewer_sent_frames_total",
        &[],
        Metrics::load(&metrics.sent_frames),
    );

    out.family(
        "vg_requests_rate_limited_total",
        "counter",
        "Requests answered 429 by a per-client rate limit: ingest requests, viewer connection attempts.",
    );
    for which in Limited::ALL {
        out.sample(
            "vg_requests_rate_limited_total",
            &[("what", which.label())],
            shared.limiters.limited(which),
        );
    }

    let sinks = shared.emitter.sink_stats();
    let newest = history.newest_seq.unwrap_or(0);
    out.family(
        "vg_sink_written_entries_total",
        "counter",
        "Entries each sink has written.",
    );
    for sink in &sinks {
        out.sample(
            "vg_sink_written_entries_total",
            &[("sink", &sink.name)],
            sink.written,
        );
    }
    out.family(
        "vg_sink_missed_entries_total",
        "counter",
        "Entries each sink fell too far behind to write (dropped for it).",
    );
    for sink in &sinks {
        out.sample(
            "vg_sink_missed_entries_total",
            &[("sink", &sink.name)],
            sink.missed,
        );
    }
    out.family(
        "vg_sink_lag_entries",
        "gauge",
        "Seqs stamped that each sink has not reached yet.",
    );
    for sink in &sinks {
        out.sample(
            "vg_sink_lag_entries",
            &[("sink", &sink.name)],
            newest.saturating_sub(sink.position),
        );
    }
    if let Some(stats) = shared.emitter.disk_stats() {
        disk(&mut out, &stats);
    }
    if let Some(cluster) = shared.cluster.get() {
        redis(&mut out, &cluster.stats());
    }
    out.0
}

/// What durable history holds and how writing goes (only with a data dir).
fn disk(out: &mut Exposition, stats: &DiskStats) {
    let figures = [
        (
            "vg_disk_writing",
            "gauge",
            "1 while writes to the data dir succeed, 0 while they fail (full, unwritable, removed).",
            u64::from(stats.writing),
        ),
        (
            "vg_disk_written_entries_total",
            "counter",
            "Entries written to the data dir since the server started.",
            stats.written,
        ),
        (
            "vg_disk_not_written_entries_total",
            "counter",
            "Entries that could not be written to the data dir (they were still streamed live).",
            stats.not_written,
        ),
        (
            "vg_disk_write_errors_total",
            "counter",
            "Failed writes to the data dir.",
            stats.write_errors,
        ),
        (
            "vg_disk_bytes",
            "gauge",
            "Bytes of history on disk.",
            stats.bytes,
        ),
        (
            "vg_disk_segments",
            "gauge",
            "Segment files of history on disk.",
            stats.segments as u64,
        ),
        (
            "vg_disk_damaged_records_total",
            "counter",
            "Records found damaged (skipped) at start and by reads since.",
            stats.damaged_records + stats.damaged_frames,
        ),
    ];
    for (name, kind, help, value) in figures {
        out.family(name, kind, help);
        out.sample(name, &[], value);
    }
}

/// How this instance's publishing to Redis goes (only with `--redis`).
fn redis(out: &mut Exposition, stats: &RedisStats) {
    let stream = [("stream", stats.stream.as_str())];
    out.family(
        "vg_redis_up",
        "gauge",
        "1 while Redis answers this instance's publishing, 0 while it is down or not reached yet.",
    );
    out.sample("vg_redis_up", &stream, u64::from(stats.state == "up"));
    let figures = [
        (
            "vg_redis_published_entries_total",
            "counter",
            "Entries this instance has put in the Redis stream.",
            stats.published,
        ),
        (
            "vg_redis_buffered_entries",
            "gauge",
            "Entries waiting to be published (Redis down or slow).",
            stats.buffered,
        ),
        (
            "vg_redis_overflow_entries_total",
            "counter",
            "Entries dropped from the full buffer while Redis was down or slow (merged viewers see them as a gap).",
            stats.overflow,
        ),
        (
            "vg_redis_deduplicated_entries_total",
            "counter",
            "Entries a retry found already in Redis (a reply lost after Redis took them) and did not add again.",
            stats.deduplicated,
        ),
    ];
    for (name, kind, help, value) in figures {
        out.family(name, kind, help);
        out.sample(name, &stream, value);
    }
}

fn reason_label(reason: GapReason) -> &'static str {
    match reason {
        GapReason::Lagged => "lagged",
        GapReason::Evicted => "evicted",
        GapReason::Restart => "restart",
    }
}

/// Prometheus text format, version 0.0.4.
struct Exposition(String);

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.0, "# HELP {name} {help}");
        let _ = writeln!(self.0, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.0.push_str(name);
        if !labels.is_empty() {
            self.0.push('{');
            for (i, (key, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.0.push(',');
                }
                let _ = write!(self.0, "{key}=\"");
                escape_label(&mut self.0, value);
                self.0.push('"');
            }
            self.0.push('}');
        }
        let _ = writeln!(self.0, " {value}");
    }
}

/// A label value as the format wants it: backslash, double quote and newline escaped.
fn escape_label(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        let mut out = Exposition(String::new());
        out.sample("m", &[("sink", "a\"b\\c\nd")], 3);
        assert_eq!(out.0, "m{sink=\"a\\\"b\\\\c\\nd\"} 3\n");
    }
}
