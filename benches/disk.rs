//! Durable history, every figure of docs/benchmarks.md's "Durable history" section side by side in
//! one run:
//!
//! - `emit()` memory only, with a sink that discards, and with the disk sink;
//! - sustained ingest to disk (`--fsync interval`, the sealer compressing full segments on its own
//!   thread meanwhile), against plain NDJSON appends and the same entries into SQLite (`rusqlite`).
//!   The producer is paced as `vg serve --stdin` paces a pipe (`Emitter::wait_for_sinks`), so the
//!   rate is of entries written, none lost: a round in which any entry is not written fails. The
//!   CPU each thread used is printed per round;
//! - bytes on disk per entry once every segment is sealed;
//! - a time window after a restart (everything from disk): its first entry, its first 512 and
//!   reading all of it, against the same queries in SQLite;
//! - replay from disk through a real `vg serve --data-dir` and `vg logs --json` (`VG_BIN`);
//! - `DISK_BENCH_STORED` entries stored (default 10,000,000): RSS after 1M and after all of them,
//!   the first entry of a `since` window over all of them, and a server's RSS over each data dir.
//!
//! It allocates with mimalloc, as `vg serve` does, when the `mimalloc` feature is on (a default
//! one); `--no-default-features --features server` measures the system allocator instead.
//!
//! `cargo build --release --features server && cargo bench --features server --bench disk`
//! (`DISK_BENCH_N` entries per round, default 1,000,000; `ROUNDS` rounds, default 3, interleaved;
//! medians printed; `VG_BIN` names the `vg` binary, default the release build;
//! `DISK_BENCH_FIRST_REPEAT=R` repeats the first-entry seeks R times more, for a profiler). Data goes
//! to a temporary directory, removed at the end.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use vg::LogEntry;
use vg::server::{DiskConfig, Emitter, EmitterConfig, Sink};

#[path = "support/allocator.rs"]
mod allocator;
#[path = "support/entries.rs"]
mod entries;
#[path = "disk/replay.rs"]
mod replay;
#[path = "disk/sqlite.rs"]
mod sqlite;
#[path = "disk/threads.rs"]
mod threads;

/// A sink that only takes entries: what the sink seam itself costs `emit()`, without the disk.
struct Discard;

impl Sink for Discard {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        std::hint::black_box(entries);
    }
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn config() -> EmitterConfig {
    // The live buffer a sink reads from: `vg serve`'s 4,096 would cap the writer's batches at what
    // the producer's pacing leaves in it; 16,384 lets it take its full batch (4,096) while the
    // producer goes on. (The ring is also bounded by history's 16 MiB, which this stays under.)
    EmitterConfig::default()
        .read_env(false)
        .instance("bench")
        .live_buffer(LIVE_BUFFER)
}

const LIVE_BUFFER: usize = 1 << 14;

/// Entries emitted between two looks at whether the writer keeps up (as `vg serve --stdin` does).
const PACE: usize = 256;
/// How long the producer waits for a writer about to be lapped before the round fails.
const PACE_WAIT: Duration = Duration::from_secs(10);

/// The default durability (`--fsync interval`), with retention that never deletes what is measured.
fn disk(dir: &Path) -> DiskConfig {
    DiskConfig::new(dir).retention(1 << 40, Duration::from_secs(365 * 24 * 3600))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// VmRSS in KiB from a `/proc/.../status` text.
pub fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn self_rss_kib() -> u64 {
    vm_rss(&std::fs::read_to_string("/proc/self/status").unwrap_or_default()).unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Emits every entry; returns the mean `emit()` time in ns.
/// Wall time and the thread's CPU time per `clone()` + `emit()`, in ns.
fn emit_all(emitter: &Emitter, batch: &[LogEntry]) -> (f64, f64) {
    let cpu = threads::this_thread_cpu();
    let start = Instant::now();
    for entry in batch {
        emitter.emit(entry.clone());
    }
    let n = batch.len() as f64;
    (
        start.elapsed().as_nanos() as f64 / n,
        (threads::this_thread_cpu() - cpu) * 1e9 / n,
    )
}

/// Clones outside any timing: `emit` takes the entry by value.
fn clone_cost(batch: &[LogEntry]) -> f64 {
    let start = Instant::now();
    for entry in batch {
        std::hint::black_box(entry.clone());
    }
    start.elapsed().as_nanos() as f64 / batch.len() as f64
}

/// Waits until the writer has dealt with `n` entries.
fn wait_written(emitter: &Emitter, n: u64) {
    loop {
        let stats = emitter.disk_stats().unwrap();
        if stats.written + stats.not_written >= n {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Restarts over `dir` and waits until every segment but the new (empty) one is sealed.
fn reopen_sealed(dir: &Path) -> (Emitter, f64) {
    let emitter = Emitter::open(config().disk(disk(dir))).unwrap();
    let start = Instant::now();
    loop {
        let stats = emitter.disk_stats().unwrap();
        if stats.sealed + 1 == stats.segments || start.elapsed() > Duration::from_secs(600) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    (emitter, start.elapsed().as_secs_f64())
}

struct DiskRound {
    /// Mean time of `clone()` + `emit()` per entry, pacing waits left out.
    emit_ns: f64,
    /// The producer thread's CPU per entry over the round (`clone()`, `emit()`, and the little
    /// its pacing waits use): without the time other threads held the cores.
    emit_cpu_ns: f64,
    ingest_per_s: f64,
    /// Share of the round's wall time the producer spent in `clone()` + `emit()`.
    emit_share: f64,
    /// CPU seconds by thread name over the round.
    cpu: Vec<(String, f64)>,
    secs: f64,
}

/// Sustained ingest: every entry emitted, paced the way `vg serve --stdin` paces a pipe (every
/// `PACE` entries it waits while the writer is about to be lapped), and timed until the writer has
/// written the last one. A round in which any entry is not written fails: a rate bought with
/// losses is no rate.
fn disk_round(dir: &Path, batch: &[LogEntry]) -> DiskRound {
    let _ = std::fs::remove_dir_all(dir);
    let emitter = Emitter::open(config().disk(disk(dir))).unwrap();
    let cpu_before = threads::cpu_by_thread();
    let producer_before = threads::this_thread_cpu();
    let start = Instant::now();
    let mut emitting = Duration::ZERO;
    for chunk in batch.chunks(PACE) {
        let t = Instant::now();
        for entry in chunk {
            emitter.emit(entry.clone());
        }
        emitting += t.elapsed();
        assert!(
            emitter.wait_for_sinks(PACE_WAIT),
            "the history writer did not catch up within {PACE_WAIT:?}: {:?}",
            emitter.sink_stats()
        );
    }
    let n = batch.len() as u64;
    let producer_cpu = threads::this_thread_cpu() - producer_before;
    wait_written(&emitter, n);
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = threads::used_between(&cpu_before, &threads::cpu_by_thread());
    let stats = emitter.disk_stats().unwrap();
    assert!(
        stats.not_written == 0 && stats.written == n && stats.write_errors == 0,
        "ingest round lost entries: {} of {n} written, {} not written, {} write errors; sinks: {:?}",
        stats.written,
        stats.not_written,
        stats.write_errors,
        emitter.sink_stats()
    );
    drop(emitter);
    DiskRound {
        emit_ns: emitting.as_nanos() as f64 / n as f64,
        emit_cpu_ns: producer_cpu * 1e9 / n as f64,
        ingest_per_s: n as f64 / elapsed,
        emit_share: emitting.as_secs_f64() / elapsed,
        cpu,
        secs: elapsed,
    }
}

/// Plain NDJSON appends of the same entries, one buffered writer, synced at the end.
fn ndjson_round(path: &Path, batch: &[LogEntry]) -> f64 {
    let start = Instant::now();
    let file = std::fs::File::create(path).unwrap();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, &file);
    for entry in batch {
        serde_json::to_writer(&mut out, entry).unwrap();
        out.write_all(b"\n").unwrap();
    }
    out.flush().unwrap();
    drop(out);
    file.sync_data().unwrap();
    batch.len() as f64 / start.elapsed().as_secs_f64()
}

/// How many `since` seeks near each tenth of the stored entries the first-entry figure is the
/// median of.
const FIRST_ENTRY_PLACES: usize = 20;

/// The first entry at or after `since`, read the way a `since` window starts (seek, then read
/// forward) with reads of `chunk` entries: 1 asks what SQLite's `LIMIT 1` does, 512 is a backfill's
/// first read (`History` reads in chunks of 512).
fn vg_first_since(
    history: &dyn vg::server::History,
    since: DateTime<Utc>,
    chunk: usize,
) -> Option<LogEntry> {
    let mut next = history.seek_time(since)?;
    loop {
        let read = history.forward(next, u64::MAX, chunk);
        next = read.last()?.seq? + 1;
        if let Some(first) = read.into_iter().find(|e| e.timestamp >= since) {
            return Some((*first).clone());
        }
    }
}

/// Every entry with `since <= timestamp < until`, read as a `since`/`until` window is: returns
/// how many.
fn vg_window(
    history: &dyn vg::server::History,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> usize {
    let Some(mut next) = history.seek_time(since) else {
        return 0;
    };
    let to = history.seek_until(until).unwrap_or(u64::MAX);
    let mut count = 0;
    loop {
        let chunk = history.forward(next, to, 512);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            return count;
        };
        for entry in &chunk {
            if entry.timestamp >= until {
                return count;
            }
            count += usize::from(entry.timestamp >= since);
        }
        next = last + 1;
    }
}

/// With `DISK_BENCH_FIRST_REPEAT=R`, the first-entry seeks of the figure above again, R times over,
/// so that a profiler (`perf record --call-graph dwarf`) sees the query rather than the ingest.
fn profile_first_entry(history: &dyn vg::server::History, batch: &[LogEntry], n: u64) {
    let repeat = env_num("DISK_BENCH_FIRST_REPEAT", 0);
    if repeat == 0 {
        return;
    }
    let sinces: Vec<DateTime<Utc>> = (1..=9u64)
        .flat_map(|k| {
            (0..FIRST_ENTRY_PLACES).map(move |place| (n * k / 10) as usize + place * 1013)
        })
        .map(|i| batch[i.min(batch.len() - 1)].timestamp)
        .collect();
    let start = Instant::now();
    for _ in 0..repeat {
        for since in &sinces {
            std::hint::black_box(vg_first_since(history, *since, 1));
        }
    }
    println!(
        "first entry, {repeat} more times over (for a profiler): {:.4} ms each",
        ms_since(start) / (repeat as f64 * sinces.len() as f64)
    );
}

fn ms_since(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let n = env_num("DISK_BENCH_N", 1_000_000);
    let stored = env_num("DISK_BENCH_STORED", 10_000_000);
    let rounds = env_num("ROUNDS", 3) as usize;
    let root = std::env::temp_dir().join(format!("vg-bench-disk-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let data = root.join("data");
    let db = root.join("peer.sqlite");
    let batch: Vec<LogEntry> = (1..=n).map(entries::entry).collect();
    let json_bytes: usize = batch.iter().map(|e| e.to_json().len() + 1).sum();
    let allocator = allocator::NAME;
    println!(
        "entries: {n} per round, {rounds} rounds; JSON {:.0} bytes each; allocator: {allocator}; load average at start: {}",
        json_bytes as f64 / n as f64,
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    let (mut memory_emit, mut sink_emit, mut disk_rounds) = (Vec::new(), Vec::new(), Vec::new());
    let (mut ndjson, mut sqlite_rates, mut sqlite_bytes) = (Vec::new(), Vec::new(), 0);
    let clone_ns = clone_cost(&batch);
    for _ in 0..rounds {
        let emitter = Emitter::new(config());
        memory_emit.push(emit_all(&emitter, &batch));
        drop(emitter);
        let emitter = Emitter::new(config());
        emitter.add_sink("discard", Discard).unwrap();
        sink_emit.push(emit_all(&emitter, &batch));
        drop(emitter);
        disk_rounds.push(disk_round(&data, &batch));
        ndjson.push(ndjson_round(&root.join("plain.ndjson"), &batch));
        let (rate, bytes) = sqlite::ingest(&db, &batch);
        sqlite_rates.push(rate);
        sqlite_bytes = bytes;
    }
    let emit_disk = median(disk_rounds.iter().map(|r| r.emit_ns).collect());
    let emit_memory = median(memory_emit.iter().map(|e| e.0).collect());
    let emit_sink = median(sink_emit.iter().map(|e| e.0).collect());
    let cpu_memory = median(memory_emit.iter().map(|e| e.1).collect());
    let cpu_sink = median(sink_emit.iter().map(|e| e.1).collect());
    let cpu_disk = median(disk_rounds.iter().map(|r| r.emit_cpu_ns).collect());
    let ingest = median(disk_rounds.iter().map(|r| r.ingest_per_s).collect());
    let emit_share = median(disk_rounds.iter().map(|r| r.emit_share).collect());
    let plain = median(ndjson);
    let sqlite_rate = median(sqlite_rates);
    println!(
        "emit(): memory only {emit_memory:.0} ns; with a sink that discards {emit_sink:.0} ns ({:.2}x); with the disk sink, paced {emit_disk:.0} ns ({:.2}x memory only, {:.2}x the discarding sink); entry clone {clone_ns:.0} ns included in each",
        emit_sink / emit_memory,
        emit_disk / emit_memory,
        emit_disk / emit_sink,
    );
    println!(
        "emit() CPU of the app's thread per entry (clone included; 10 ms clock ticks): memory only {cpu_memory:.0} ns; with a sink that discards {cpu_sink:.0} ns ({:.2}x); with the disk sink, paced {cpu_disk:.0} ns ({:.2}x memory only)",
        cpu_sink / cpu_memory,
        cpu_disk / cpu_memory,
    );
    println!(
        "ingest, emit to written, none lost (fsync interval, sealer running, producer paced as vg serve --stdin): vg {ingest:.0} entries/s; plain NDJSON appends {plain:.0}/s (vg {:.2}x); SQLite {sqlite_rate:.0}/s (vg {:.2}x); the producer's clone + emit() took {:.0}% of the time",
        ingest / plain,
        ingest / sqlite_rate,
        emit_share * 100.0
    );
    for (i, round) in disk_rounds.iter().enumerate() {
        let cpu = round
            .cpu
            .iter()
            .map(|(name, secs)| format!("{name} {:.0}%", secs / round.secs * 100.0))
            .collect::<Vec<_>>()
            .join(", ");
        println!(
            "  ingest round {}: {:.0} entries/s; CPU by thread, % of one core over {:.2} s: {cpu}",
            i + 1,
            round.ingest_per_s,
            round.secs
        );
    }

    // After a restart every read comes from disk (the ring is empty). The segment the last round
    // left open is sealed after the start: wait for it, so every entry is in a sealed segment.
    let (emitter, seal_secs) = reopen_sealed(&data);
    let stats = emitter.disk_stats().unwrap();
    println!(
        "bytes on disk per entry once sealed: {:.1} ({:.3}x its JSON; {} segments sealed, the last {seal_secs:.2} s after the restart); SQLite: {:.1} ({:.2}x its JSON)",
        stats.bytes as f64 / n as f64,
        stats.bytes as f64 / json_bytes as f64,
        stats.sealed,
        sqlite_bytes as f64 / n as f64,
        sqlite_bytes as f64 / json_bytes as f64,
    );
    let history = emitter.history();
    let peer = sqlite::Reader::open(&db);
    let window = (n / 100).max(1) as usize;
    let (mut vg_first, mut sql_first, mut vg_read, mut sql_read) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut vg_chunk, mut sql_chunk) = (Vec::new(), Vec::new());
    for k in 1..=9u64 {
        let at = (n * k / 10) as usize;
        let until = batch[(at + window).min(batch.len() - 1)].timestamp;
        // The first entry at 20 places near each tenth, each in a frame not read before.
        for place in 0..FIRST_ENTRY_PLACES {
            let since = batch[(at + place * 1013).min(batch.len() - 1)].timestamp;
            let start = Instant::now();
            let first = vg_first_since(&*history, since, 1).unwrap();
            vg_first.push(ms_since(start));
            let start = Instant::now();
            let peer_first = peer.first_since(since.timestamp_micros()).unwrap();
            sql_first.push(ms_since(start));
            assert_eq!(
                (first.seq, &first.message),
                (peer_first.seq, &peer_first.message)
            );
        }
        // The window's first 512, as a backfill's first read takes them (timed on a window
        // of its own, so that no frame is still at hand from the read above).
        let since = batch[at + window / 2].timestamp;
        let start = Instant::now();
        let first = vg_first_since(&*history, since, 512).unwrap();
        vg_chunk.push(ms_since(start));
        let start = Instant::now();
        let got = peer.since_limit(since.timestamp_micros(), 512);
        sql_chunk.push(ms_since(start));
        assert_eq!(got, 512);
        assert_eq!(first.timestamp, since);
        let since = batch[at].timestamp;
        let start = Instant::now();
        let got = vg_window(&*history, since, until);
        vg_read.push(ms_since(start));
        let start = Instant::now();
        let peer_got = peer.window(since.timestamp_micros(), until.timestamp_micros());
        sql_read.push(ms_since(start));
        assert_eq!(got, peer_got, "vg and SQLite disagree on the window");
    }
    let (vf, sf, vr, sr) = (
        median(vg_first),
        median(sql_first),
        median(vg_read),
        median(sql_read),
    );
    let (vc, sc) = (median(vg_chunk), median(sql_chunk));
    println!(
        "time window after a restart, over {n} stored: first entry (one entry read; SQLite LIMIT 1) vg {vf:.3} ms, SQLite {sf:.3} ms (vg {:.2}x); its first 512 (SQLite LIMIT 512) vg {vc:.3} ms, SQLite {sc:.3} ms (vg {:.2}x); all {window} entries of it vg {vr:.2} ms, SQLite {sr:.2} ms (vg {:.2}x)",
        sf / vf,
        sc / vc,
        sr / vr
    );
    profile_first_entry(&*history, &batch, n);
    let start = Instant::now();
    let (mut next, mut read) = (1, 0u64);
    loop {
        let chunk = history.forward(next, u64::MAX, 512);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            break;
        };
        read += chunk.len() as u64;
        next = last + 1;
    }
    println!(
        "replay from disk in-process (History::forward, every entry decoded): {:.0} entries/s ({read} entries)",
        read as f64 / start.elapsed().as_secs_f64()
    );
    drop((history, peer, emitter));

    // Replay as a user sees it: a server restarted over the data, and `vg logs --json`.
    let since = entries::entry(0).timestamp.to_rfc3339();
    let mut replays = Vec::new();
    let mut rss = (0, 0);
    for _ in 0..rounds {
        let Some(server) = replay::Serve::start(&data) else {
            println!(
                "replay through the WebSocket: skipped ({} did not start; build it: cargo build --release --features server)",
                replay::vg_bin()
            );
            break;
        };
        rss.0 = server.rss_kib().unwrap_or(0);
        let (lines, secs) = replay::logs_json(&server.url, &since);
        rss.1 = server.rss_kib().unwrap_or(0);
        assert_eq!(lines, n, "vg logs printed {lines} of {n} entries");
        replays.push(lines as f64 / secs);
    }
    if !replays.is_empty() {
        println!(
            "replay from disk through the WebSocket to `vg logs --json --since` (vg serve restarted over {n} entries, all sealed): {:.0} entries/s; vg serve RSS {:.0} MiB at start, {:.0} MiB after the replay",
            median(replays),
            mib(rss.0),
            mib(rss.1)
        );
    }
    drop(batch);

    stored_phase(&root.join("stored"), stored);
    let _ = std::fs::remove_dir_all(&root);
}

/// `stored` entries into a data dir (generated as they go, so the bench holds none of them): RSS
/// after 1M and after all, then after a restart the first entry of `since` windows over all of
/// them, and a real server's RSS over the dir.
fn stored_phase(dir: &Path, stored: u64) {
    let _ = std::fs::remove_dir_all(dir);
    let base = self_rss_kib();
    let emitter = Emitter::open(config().disk(disk(dir))).unwrap();
    let start = Instant::now();
    let mut rss_at = Vec::new();
    for i in 1..=stored {
        emitter.emit(entries::entry(i));
        if i % PACE as u64 == 0 {
            // This phase stores, it does not time the writer: never let it be lapped.
            assert!(emitter.wait_for_sinks(PACE_WAIT), "the writer stalled");
        }
        if i == 1_000_000.min(stored) || i == stored {
            wait_written(&emitter, i);
            rss_at.push((i, self_rss_kib()));
        }
    }
    let stats = emitter.disk_stats().unwrap();
    assert_eq!(stats.not_written, 0, "entries were not written: {stats:?}");
    drop(emitter);
    println!(
        "stored {stored} entries in {:.1} s (none lost); this process's RSS above its start: {}",
        start.elapsed().as_secs_f64(),
        rss_at
            .iter()
            .map(|(i, kib)| format!("{:.0} MiB after {i}", mib(kib.saturating_sub(base))))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let before = self_rss_kib();
    let (emitter, seal_secs) = reopen_sealed(dir);
    let opened = self_rss_kib();
    let history = emitter.history();
    let mut firsts = Vec::new();
    for k in 1..=9u64 {
        let since = entries::entry(stored * k / 10).timestamp;
        let start = Instant::now();
        let first = vg_first_since(&*history, since, 512).unwrap();
        firsts.push(ms_since(start));
        assert_eq!(first.timestamp, since);
    }
    let stats = emitter.disk_stats().unwrap();
    println!(
        "first entry of a since window over {stored} stored, after a restart (all sealed {seal_secs:.1} s after it, {} segments, {:.1} bytes an entry): median {:.3} ms, max {:.3} ms; RSS of the restarted emitter {:.1} MiB above before it",
        stats.segments,
        stats.bytes as f64 / stored as f64,
        median(firsts.clone()),
        firsts.iter().copied().fold(0.0, f64::max),
        mib(opened.saturating_sub(before)),
    );
    drop((history, emitter));
    if let Some(server) = replay::Serve::start(dir) {
        let at_start = server.rss_kib().unwrap_or(0);
        // The newest 1M entries (or all of a smaller store) through the WebSocket.
        let tail = entries::entry(stored.saturating_sub(1_000_000))
            .timestamp
            .to_rfc3339();
        let (lines, secs) = replay::logs_json(&server.url, &tail);
        println!(
            "vg serve over {stored} stored: RSS {:.0} MiB at start, {:.0} MiB after replaying the newest {lines} to `vg logs --json` ({:.0} entries/s)",
            mib(at_start),
            mib(server.rss_kib().unwrap_or(0)),
            lines as f64 / secs
        );
    }
}
