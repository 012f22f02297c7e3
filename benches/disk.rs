//! Durable history, side by side in one run: `emit()` with and without the disk sink, sustained
//! ingest to disk against plain NDJSON appends, bytes on disk per entry (right after ingest, and
//! once every segment is sealed and compressed), replay from disk, and the first entry of a `since`
//! window after a restart (everything then comes from disk, sealed segments).
//!
//! `cargo bench --no-default-features --features server --bench disk` (`DISK_BENCH_N` entries,
//! default 1,000,000). Each variant runs `ROUNDS` times (default 3), interleaved; medians printed.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vg::LogEntry;
use vg::server::{DiskConfig, Emitter, EmitterConfig, Sink};

/// A sink that only takes entries: what the sink seam itself costs `emit()`, without the disk.
struct Discard;

impl Sink for Discard {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        std::hint::black_box(entries);
    }
}

#[path = "support/entries.rs"]
mod entries;

fn config() -> EmitterConfig {
    // A live buffer large enough that the writer is never lapped by a tight loop of emits: this
    // measures the writer's rate, not what it would drop.
    EmitterConfig::default()
        .read_env(false)
        .instance("bench")
        .live_buffer(1 << 20)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Emits every entry; returns the mean `emit()` time in ns.
fn emit_all(emitter: &Emitter, batch: &[LogEntry]) -> f64 {
    let start = Instant::now();
    for entry in batch {
        emitter.emit(entry.clone());
    }
    start.elapsed().as_nanos() as f64 / batch.len() as f64
}

/// Clones outside any timing: `emit` takes the entry by value.
fn clone_cost(batch: &[LogEntry]) -> f64 {
    let start = Instant::now();
    for entry in batch {
        std::hint::black_box(entry.clone());
    }
    start.elapsed().as_nanos() as f64 / batch.len() as f64
}

struct DiskRound {
    emit_ns: f64,
    ingest_per_s: f64,
    bytes: u64,
    not_written: u64,
}

fn disk_round(dir: &Path, batch: &[LogEntry]) -> DiskRound {
    let _ = std::fs::remove_dir_all(dir);
    let emitter = Emitter::open(config().disk(DiskConfig::new(dir))).unwrap();
    let start = Instant::now();
    let emit_ns = emit_all(&emitter, batch);
    let n = batch.len() as u64;
    loop {
        let stats = emitter.disk_stats().unwrap();
        if stats.written + stats.not_written >= n {
            break;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    let elapsed = start.elapsed().as_secs_f64();
    let stats = emitter.disk_stats().unwrap();
    drop(emitter);
    DiskRound {
        emit_ns,
        ingest_per_s: n as f64 / elapsed,
        bytes: stats.bytes,
        not_written: stats.not_written,
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

fn main() {
    let n: u64 = std::env::var("DISK_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let root = std::env::temp_dir().join(format!("vg-bench-disk-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    let batch: Vec<LogEntry> = (1..=n).map(entries::entry).collect();
    let json_bytes: usize = batch.iter().map(|e| e.to_json().len() + 1).sum();

    let mut memory_emit = Vec::new();
    let mut sink_emit = Vec::new();
    let mut disk = Vec::new();
    let mut ndjson = Vec::new();
    let clone_ns = clone_cost(&batch);
    for _ in 0..rounds {
        let emitter = Emitter::new(config());
        memory_emit.push(emit_all(&emitter, &batch));
        drop(emitter);
        let emitter = Emitter::new(config());
        emitter.add_sink("discard", Discard).unwrap();
        sink_emit.push(emit_all(&emitter, &batch));
        drop(emitter);
        disk.push(disk_round(&root.join("data"), &batch));
        ndjson.push(ndjson_round(&root.join("plain.ndjson"), &batch));
    }
    let last = disk.last().unwrap();
    let (bytes, not_written) = (last.bytes, last.not_written);
    let emit_disk = median(disk.iter().map(|r| r.emit_ns).collect());
    let emit_memory = median(memory_emit);
    let emit_sink = median(sink_emit);
    let ingest = median(disk.iter().map(|r| r.ingest_per_s).collect());
    let plain = median(ndjson);
    println!(
        "entries: {n}, JSON {:.0} bytes each",
        json_bytes as f64 / n as f64
    );
    println!(
        "emit(), memory only: {:.0} ns; with the disk sink: {:.0} ns ({:.2}x); entry clone {clone_ns:.0} ns included in both",
        emit_memory,
        emit_disk,
        emit_disk / emit_memory
    );
    println!(
        "emit(), memory only with a sink that discards: {:.0} ns ({:.2}x memory only)",
        emit_sink,
        emit_sink / emit_memory
    );
    println!(
        "ingest to disk (fsync interval), emit to written: {:.0} entries/s; plain NDJSON appends: {:.0} entries/s ({:.2}x of plain); not written: {not_written}",
        ingest,
        plain,
        ingest / plain
    );
    println!(
        "bytes on disk per entry right after ingest (full segments sealed meanwhile, the last open): {:.0} ({:.2}x its JSON)",
        bytes as f64 / n as f64,
        bytes as f64 / json_bytes as f64
    );

    // After a restart every read comes from disk (the ring is empty). The segment the last round
    // left open is sealed after the start: wait for it, so every entry is in a sealed segment.
    let emitter = Emitter::open(config().disk(DiskConfig::new(root.join("data")))).unwrap();
    let start = Instant::now();
    let sealed = loop {
        let stats = emitter.disk_stats().unwrap();
        if stats.sealed + 1 == stats.segments || start.elapsed() > Duration::from_secs(300) {
            break stats;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    println!(
        "bytes on disk per entry once sealed: {:.1} ({:.3}x its JSON; {} of {} segments sealed, the last in {:.2} s after the start)",
        sealed.bytes as f64 / n as f64,
        sealed.bytes as f64 / json_bytes as f64,
        sealed.sealed,
        sealed.segments,
        start.elapsed().as_secs_f64()
    );
    let history = emitter.history();
    let mut firsts = Vec::new();
    for k in 1..=9u64 {
        let since = batch[(n * k / 10) as usize].timestamp;
        let start = Instant::now();
        let from = history.seek_time(since).unwrap();
        let mut first: Option<Arc<LogEntry>> = None;
        let mut next = from;
        while first.is_none() {
            let chunk = history.forward(next, u64::MAX, 512);
            next = chunk.last().and_then(|e| e.seq).unwrap() + 1;
            first = chunk.into_iter().find(|e| e.timestamp >= since);
        }
        firsts.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "first entry of a since window over {n} stored entries, from disk: median {:.3} ms (max {:.3} ms)",
        median(firsts.clone()),
        firsts.iter().copied().fold(0.0, f64::max)
    );
    let start = Instant::now();
    let mut next = 1;
    let mut read = 0u64;
    loop {
        let chunk = history.forward(next, u64::MAX, 512);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            break;
        };
        read += chunk.len() as u64;
        next = last + 1;
    }
    println!(
        "replay from disk through History::forward: {:.0} entries/s ({read} entries)",
        read as f64 / start.elapsed().as_secs_f64()
    );
    drop(history);
    drop(emitter);
    let _ = std::fs::remove_dir_all(&root);
}
