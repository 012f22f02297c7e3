//! Durable history in this process: emitters on real data dirs, entries with known timestamps, and
//! what a viewer resuming through a real gateway receives.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use vg::server::{DiskConfig, DiskError, Emitter, Gateway, GatewayConfig};
use vg::wire::GapReason;
use vg::{Level, LogEntry};

use super::{LIMIT, TestServer, emitter_config, until_live};

/// A small memory ring, so that reads reach the disk.
pub fn open_with(disk: DiskConfig) -> Result<Emitter, DiskError> {
    Emitter::open(emitter_config().history(16, usize::MAX).disk(disk))
}

/// Waits (bounded) until `done` holds of the disk's stats.
pub fn wait_disk(emitter: &Emitter, what: &str, done: impl Fn(&vg::server::DiskStats) -> bool) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let stats = emitter.disk_stats().unwrap();
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} never happened: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Waits (bounded) until the disk holds seq `newest`.
pub fn written(emitter: &Emitter, newest: u64) {
    wait_disk(emitter, &format!("seq {newest} on disk"), |s| {
        s.newest_seq >= Some(newest)
    });
}

/// Waits (bounded) until every segment but the one being written is sealed.
pub fn sealed(emitter: &Emitter) {
    wait_disk(emitter, "sealing", |s| s.sealed + 1 == s.segments);
}

pub fn at(second: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_770_000_000 + second, 0).unwrap()
}

/// Emits `count` entries `m1`, `m2`..., one second apart, and waits until they are on disk.
pub fn fill(emitter: &Emitter, count: u64) -> u64 {
    emit_paced(
        emitter,
        (1..=count).map(|i| {
            let mut entry = LogEntry::new(Level::Info, "t", format!("m{i}"));
            entry.timestamp = at(i64::try_from(i).unwrap());
            entry
        }),
    )
}

/// Emits `entries` in steps the writer keeps up with (a tight loop outruns its live buffer, and
/// what it misses is a hole on disk), and waits until all are on disk. Returns the last seq.
pub fn emit_paced(emitter: &Emitter, entries: impl IntoIterator<Item = LogEntry>) -> u64 {
    let mut last = 0;
    for (i, entry) in entries.into_iter().enumerate() {
        last = emitter.emit(entry);
        if i % 1000 == 999 {
            written(emitter, last);
        }
    }
    written(emitter, last);
    last
}

/// The segment files in `dir`, by number.
pub fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    found.sort();
    found
}

/// Whether the segment file at `path` is sealed (compressed).
pub fn is_sealed(path: &Path) -> bool {
    std::fs::read(path).unwrap().starts_with(b"VGSEALED")
}

/// What a viewer resuming with `query` gets up to `live`: seqs received and the gaps.
pub async fn resume(emitter: &Emitter, query: &str) -> (Vec<u64>, Vec<(GapReason, u64, u64, u64)>) {
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    let server = TestServer::serve(emitter.clone(), gateway.clone(), gateway.router()).await;
    let (mut ws, _) = server.connect(query).await;
    let (entries, gaps) = until_live(&mut ws).await;
    drop(ws);
    server.stop().await;
    let seqs = entries.iter().filter_map(|e| e.seq).collect();
    let gaps = gaps
        .iter()
        .map(|g| {
            (
                g.reason,
                g.missed,
                g.from_seq.unwrap_or(0),
                g.to_seq.unwrap_or(0),
            )
        })
        .collect();
    (seqs, gaps)
}

/// A copy of a data dir taken while its server runs is what a crash at that instant leaves behind.
/// A sealer's temporary file can be renamed away between listing and copying: the image then holds
/// whatever each name held at the time, or nothing.
pub fn crash_image(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap() {
        let path = item.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        if name == "lock" {
            continue;
        }
        match std::fs::copy(&path, to.join(name)) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("copying {}: {e}", path.display()),
        }
    }
}
