//! Durable history: entries kept in append-only segment files in a data dir, so that they survive a
//! restart and reach further back than memory (docs/storage.md has the format).
//!
//! It is the two halves the store's seams ask for: a [`Sink`](super::Sink) that writes
//! (`writer`: batched, on its own thread, `emit()` never touches the disk) and a history that reads
//! (`read`, put behind the memory ring by `tiered`). Between them sits the [`Catalog`]: the segments
//! and their in-memory index, which recovery builds at start and the writer extends as it appends.
//! A full segment is compressed by the `sealer`, off the writer's thread, into a `sealed` file
//! that carries its own index, so a start reads indexes instead of scanning everything stored.
//!
//! Continuity across restarts: the stream's identity lives in `DIR/stream`, and seqs continue above
//! the last *lease* recorded on disk (a record the writer keeps ahead of every seq stamped, and sets
//! to the exact stamped seq at a graceful stop), so a seq is never given twice. Seqs between the last entry written and that lease may have been
//! stamped and never written (a crash): they are recorded as lost at the restart, and a viewer
//! resuming into them is told so with a counted `restart` gap.

mod format;
mod frames;
mod lock;
pub(crate) mod packed;
mod read;
pub(crate) mod records;
mod recovery;
mod sealed;
mod sealer;
mod segment;
mod tiered;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

use self::format::HEADER_LEN;
use self::lock::DirLock;
use self::segment::Segment;
pub(crate) use self::tiered::Tiered;
pub(crate) use self::writer::{Active, Writer};

/// When written entries are forced to the disk (`fsync`). A `kill -9` loses nothing that was
/// written in any mode (the kernel has it); these differ in what a power cut or a kernel crash can
/// take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fsync {
    /// At most this long after an entry was written (default 100 ms).
    Interval(Duration),
    /// After every batch, before the next is taken.
    Always,
    /// Left to the operating system (on Linux usually within 30 s).
    Never,
}

impl std::fmt::Display for Fsync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fsync::Interval(every) => write!(f, "interval ({} ms)", every.as_millis()),
            Fsync::Always => f.write_str("always"),
            Fsync::Never => f.write_str("never"),
        }
    }
}

/// Where and how durable history is kept (see [`EmitterConfig::disk`](super::EmitterConfig)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiskConfig {
    /// The data dir: created if missing, locked while the server runs.
    pub dir: PathBuf,
    /// When written entries are forced to the disk.
    pub fsync: Fsync,
    /// Most bytes kept; the oldest whole segments are deleted beyond it (default 1 GiB).
    pub retention_bytes: u64,
    /// Segments last written longer ago than this are deleted (default 7 days).
    pub retention_age: Duration,
    /// Size at which a segment is sealed and a new one begun (default 64 MiB).
    pub segment_bytes: u64,
}

impl DiskConfig {
    /// History in `dir` with the default durability and retention.
    pub fn new(dir: impl Into<PathBuf>) -> DiskConfig {
        DiskConfig {
            dir: dir.into(),
            fsync: Fsync::Interval(Duration::from_millis(100)),
            retention_bytes: 1 << 30,
            retention_age: Duration::from_secs(7 * 24 * 3600),
            segment_bytes: 64 << 20,
        }
    }

    /// Sets the durability (builder style).
    #[must_use]
    pub fn fsync(mut self, fsync: Fsync) -> Self {
        self.fsync = fsync;
        self
    }

    /// Sets retention by size and by age (builder style).
    #[must_use]
    pub fn retention(mut self, bytes: u64, age: Duration) -> Self {
        self.retention_bytes = bytes;
        self.retention_age = age;
        self
    }

    /// Sets the size at which segments are sealed (builder style).
    #[must_use]
    pub fn segment_bytes(mut self, bytes: u64) -> Self {
        self.segment_bytes = bytes.max(4096);
        self
    }
}

/// Why a data dir cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiskError {
    /// Another server has the dir.
    #[error(
        "{} is in use by another vg server (it holds {}/lock); stop that server or choose another data dir",
        dir.display(), dir.display()
    )]
    Locked {
        /// The data dir.
        dir: PathBuf,
    },
    /// Written by a newer vg.
    #[error(
        "{} was written by a newer vg (storage format {version}; this vg reads up to {}): upgrade vg or choose another data dir",
        path.display(), format::VERSION
    )]
    NewerFormat {
        /// The file whose header says so.
        path: PathBuf,
        /// The version it carries.
        version: u32,
    },
    /// A file named like a segment (or the stream file) that is not one.
    #[error(
        "{} is not a vg data file (wrong header): is this the right data dir? Move the file away to start",
        path.display()
    )]
    NotASegment {
        /// The file.
        path: PathBuf,
    },
    /// The file system refused.
    #[error("cannot {what} {}: {source}", path.display())]
    Io {
        /// What was being done.
        what: &'static str,
        /// To which file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl DiskError {
    pub(crate) fn io(what: &'static str, path: &Path, source: std::io::Error) -> DiskError {
        DiskError::Io {
            what,
            path: path.to_owned(),
            source,
        }
    }
}

/// What durable history holds and how writing goes: `/healthz` shows it under `disk`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DiskStats {
    /// The data dir.
    pub dir: PathBuf,
    /// Segment files.
    pub segments: usize,
    /// Bytes they take.
    pub bytes: u64,
    /// Entries they hold.
    pub entries: u64,
    /// Oldest seq on disk.
    pub oldest_seq: Option<u64>,
    /// Newest seq on disk.
    pub newest_seq: Option<u64>,
    /// Oldest timestamp on disk.
    pub oldest_time: Option<DateTime<Utc>>,
    /// Newest timestamp on disk.
    pub newest_time: Option<DateTime<Utc>>,
    /// Entries written since start.
    pub written: u64,
    /// Entries that could not be written since start (write errors, or the writer fell behind).
    pub not_written: u64,
    /// Failed writes since start.
    pub write_errors: u64,
    /// Whether the last write succeeded.
    pub writing: bool,
    /// Times the emitter stamped past the recorded seq lease before the writer could extend it: a
    /// crash in such a moment could give some seqs twice (see docs/storage.md). The margin grows
    /// after each.
    pub lease_overruns: u64,
    /// The durability mode.
    pub fsync: String,
    /// Bytes of torn records cut off at start.
    pub torn_bytes: u64,
    /// Damaged records skipped at start.
    pub damaged_records: u64,
    /// What start found and did, one sentence each (torn ends cut, damaged records skipped, seqs
    /// lost at the last stop).
    pub recovery: Vec<String>,
    /// Segments sealed (compressed, with their own index); the others are read as written.
    pub sealed: usize,
    /// Compressed frames that reads found damaged since start: their entries are skipped, and a
    /// viewer resuming across them is told with a gap.
    pub damaged_frames: u64,
    /// Where reads found damage since start, one sentence each (the first few).
    pub damage: Vec<String>,
}

/// The segments and what is known about them, shared by the writer and the readers.
#[derive(Debug)]
pub(crate) struct Catalog {
    pub(crate) config: DiskConfig,
    identity: String,
    state: Mutex<State>,
    written: AtomicU64,
    not_written: AtomicU64,
    write_errors: AtomicU64,
    writing: AtomicBool,
    lease_overruns: AtomicU64,
    torn_bytes: u64,
    damaged_records: u64,
    recovery: Vec<String>,
    /// Damage reads found (frame offsets by segment, and what was said), bounded.
    damage: Mutex<Vec<(PathBuf, u64)>>,
    damaged_frames: AtomicU64,
    /// This server's hold on the dir; taken again if the dir is removed and made anew under it.
    dir_lock: Mutex<DirLock>,
}

/// What the catalog's lock guards.
#[derive(Debug)]
pub(crate) struct State {
    /// By number (and so by seq), the one being written last.
    pub(crate) segments: Vec<Segment>,
    /// Seq ranges lost at restarts, oldest first.
    pub(crate) unwritten: Vec<(u64, u64)>,
}

/// A data dir opened: its catalog, and where this start's seqs begin.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) catalog: std::sync::Arc<Catalog>,
    /// The first seq this start stamps.
    pub(crate) first_seq: u64,
    /// The segment this start appends to, and the lease it begins with.
    pub(crate) active: Active,
    pub(crate) lease: u64,
}

/// The stream file: its format version, then the stream's identity.
const STREAM_FILE: &str = "stream";
const STREAM_VERSION: u32 = 1;

/// Opens (or creates) a data dir: takes its lock, reads its identity, recovers every segment, and
/// decides where seqs continue. `new_identity` names the stream when the dir is new.
pub(crate) fn open(config: DiskConfig, new_identity: String) -> Result<Opened, DiskError> {
    let dir = config.dir.clone();
    std::fs::create_dir_all(&dir).map_err(|e| DiskError::io("create the data dir", &dir, e))?;
    let lock = DirLock::take(&dir)?;
    let identity = identity(&dir, new_identity)?;
    let listed = segment::list(&dir).map_err(|e| DiskError::io("list", &dir, e))?;
    let mut segments = Vec::new();
    let mut unwritten = Vec::new();
    let mut lease = 0;
    let mut torn_bytes = 0;
    let mut damaged_records = 0;
    let mut notes = Vec::new();
    let mut next_id = 1;
    for (id, path) in listed {
        next_id = id + 1;
        // A seal that did not finish: the open segment it was made from is still in place.
        let _ = std::fs::remove_file(sealer::temporary(&path));
        let scanned = recovery::scan(&path)?;
        let name = Segment::file_name(id);
        if let Some(why) = &scanned.unusable {
            notes.push(format!(
                "{name}: left out, {why}; its entries are not served (move the file away to silence this)"
            ));
            damaged_records += 1;
            continue;
        }
        if scanned.torn_bytes > 0 {
            notes.push(format!(
                "{name}: cut a torn record off the end ({} bytes at offset {})",
                scanned.torn_bytes, scanned.segment.len
            ));
        }
        for (start, resume) in &scanned.segment.damaged {
            notes.push(format!(
                "{name}: skipped a damaged record at offset {start} ({} bytes); the records after it are served",
                resume - start
            ));
        }
        torn_bytes += scanned.torn_bytes;
        damaged_records += scanned.segment.damaged.len() as u64;
        if scanned.lease > 0 {
            // Segments are in the order they were written: the last lease recorded is in force.
            lease = scanned.lease;
        }
        unwritten.extend(scanned.unwritten);
        if scanned.segment.len <= HEADER_LEN && scanned.segment.first_seq.is_none() {
            // Nothing in it worth keeping (no entry, no lease): the last start died creating it.
            if scanned.lease == 0 {
                let _ = std::fs::remove_file(&path);
                continue;
            }
        }
        segments.push(scanned.segment);
    }
    let last_written = segments
        .iter()
        .filter_map(|s| s.last_seq)
        .max()
        .unwrap_or(0);
    lease = lease.max(last_written);
    // A start that died before writing anything leaves its predecessor's lost range in place; the
    // new range then extends it rather than being reported as a second one.
    let lost_from = unwritten
        .iter()
        .map(|&(_, to)| to)
        .filter(|&to| to > last_written)
        .max()
        .map_or(last_written + 1, |to| to + 1);
    if lease >= lost_from {
        unwritten.push((lost_from, lease));
        notes.push(format!(
            "seqs {lost_from}-{lease} may have been stamped by the last start and were not written (it did not stop cleanly); viewers resuming into them are told"
        ));
    }
    let unwritten = merge(unwritten);
    let first_seq = lease + 1;
    let lost = unwritten
        .last()
        .copied()
        .filter(|&(_, to)| to == lease && lease > last_written);
    let first_lease = writer::first_lease(first_seq);
    let (active, segment) = writer::begin(&dir, next_id, lost, first_lease)?;
    segments.push(segment);
    let catalog = Catalog {
        identity,
        state: Mutex::new(State {
            segments,
            unwritten,
        }),
        written: AtomicU64::new(0),
        not_written: AtomicU64::new(0),
        write_errors: AtomicU64::new(0),
        writing: AtomicBool::new(true),
        lease_overruns: AtomicU64::new(0),
        torn_bytes,
        damaged_records,
        recovery: notes,
        damage: Mutex::new(Vec::new()),
        damaged_frames: AtomicU64::new(0),
        dir_lock: Mutex::new(lock),
        config,
    };
    Ok(Opened {
        catalog: std::sync::Arc::new(catalog),
        first_seq,
        active,
        lease: first_lease,
    })
}

/// Ranges sorted and joined where they overlap or touch, so each loss is reported once.
fn merge(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (from, to) in ranges {
        match merged.last_mut() {
            Some(last) if from <= last.1.saturating_add(1) => last.1 = last.1.max(to),
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Reads the stream's identity, or writes `new` as it when the dir has none yet.
fn identity(dir: &Path, new: String) -> Result<String, DiskError> {
    let path = dir.join(STREAM_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let mut words = text.split_whitespace();
            let (Some("vg-stream"), Some(version), Some(id)) =
                (words.next(), words.next(), words.next())
            else {
                return Err(DiskError::NotASegment { path });
            };
            let version: u32 = version.parse().unwrap_or(u32::MAX);
            if version > STREAM_VERSION {
                return Err(DiskError::NewerFormat { path, version });
            }
            Ok(id.to_owned())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let tmp = dir.join("stream.tmp");
            let text = format!("vg-stream {STREAM_VERSION} {new}\n");
            let write = || -> std::io::Result<()> {
                std::fs::write(&tmp, &text)?;
                std::fs::File::open(&tmp)?.sync_all()?;
                std::fs::rename(&tmp, &path)?;
                sync_dir(dir)
            };
            write().map_err(|e| DiskError::io("write", &path, e))?;
            Ok(new)
        }
        Err(e) => Err(DiskError::io("read", &path, e)),
    }
}

/// Makes a file's creation or removal in `dir` durable (a no-op where directories cannot be
/// opened).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

impl Catalog {
    /// Makes sure the dir is still this server's, before a new segment is created in it. A dir
    /// removed and made again under a running server has lost its lock and its stream file: they
    /// are taken and written again, unless another server took the dir meanwhile (its error then).
    pub(crate) fn claim_dir(&self) -> Result<(), DiskError> {
        let mut held = self.dir_lock.lock().unwrap_or_else(PoisonError::into_inner);
        if held.still_held() {
            return Ok(());
        }
        let dir = &self.config.dir;
        let lock = DirLock::take(dir)?;
        if identity(dir, self.identity.clone())? != self.identity {
            // Another stream's dir now, though nobody holds it: not this server's to write.
            return Err(DiskError::Locked { dir: dir.clone() });
        }
        *held = lock;
        Ok(())
    }

    /// The stream's identity.
    pub(crate) fn identity(&self) -> &str {
        &self.identity
    }

    /// The catalog's lock; poisoned only if a reader panicked, and the state is still whole.
    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Figures for `/healthz`.
    pub(crate) fn stats(&self) -> DiskStats {
        let state = self.lock();
        let segments = &state.segments;
        let oldest = segments.iter().find(|s| s.first_seq.is_some());
        let newest = segments.iter().rev().find(|s| s.last_seq.is_some());
        DiskStats {
            dir: self.config.dir.clone(),
            segments: segments.len(),
            bytes: segments.iter().map(|s| s.len).sum(),
            entries: segments.iter().map(|s| s.entries).sum(),
            oldest_seq: oldest.and_then(|s| s.first_seq),
            newest_seq: newest.and_then(|s| s.last_seq),
            oldest_time: segments
                .iter()
                .filter(|s| s.entries > 0)
                .map(|s| s.min_micros)
                .min()
                .map(format::time_of),
            newest_time: segments
                .iter()
                .filter(|s| s.entries > 0)
                .map(|s| s.max_micros)
                .max()
                .map(format::time_of),
            written: self.written.load(Ordering::Relaxed),
            not_written: self.not_written.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
            writing: self.writing.load(Ordering::Relaxed),
            lease_overruns: self.lease_overruns.load(Ordering::Relaxed),
            fsync: self.config.fsync.to_string(),
            torn_bytes: self.torn_bytes,
            damaged_records: self.damaged_records,
            recovery: self.recovery.clone(),
            sealed: segments.iter().filter(|s| s.sealed).count(),
            damaged_frames: self.damaged_frames.load(Ordering::Relaxed),
            damage: self
                .damage
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(path, offset)| damage_note(path, *offset))
                .collect(),
        }
    }

    /// Takes note of damaged frames a read found in `path` (each said once on stderr, counted,
    /// and listed in the stats while the list is short).
    pub(crate) fn found_damage(&self, path: &Path, offsets: &[u64]) {
        let mut seen = self.damage.lock().unwrap_or_else(PoisonError::into_inner);
        for &offset in offsets {
            if seen.iter().any(|(p, o)| p == path && *o == offset) {
                continue;
            }
            self.damaged_frames.fetch_add(1, Ordering::Relaxed);
            crate::say!("vg: {}", damage_note(path, offset));
            if seen.len() < MAX_DAMAGE_NOTES {
                seen.push((path.to_owned(), offset));
            }
        }
    }

    /// A seal that failed: the segment stays open and is read as written.
    pub(crate) fn seal_failed(&self, path: &Path, error: &std::io::Error) {
        self.write_errors.fetch_add(1, Ordering::Relaxed);
        crate::say!(
            "vg: cannot compress {}: {error}; it is kept as written and served, and sealing is tried again at the next start",
            path.display()
        );
    }
}

/// Damaged frames listed in the stats (all are counted).
const MAX_DAMAGE_NOTES: usize = 32;

fn damage_note(path: &Path, offset: u64) -> String {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    format!(
        "{name}: the compressed frame at offset {offset} is damaged (checksum mismatch); its entries are skipped and viewers get a gap"
    )
}
