//! The writer: the [`Sink`] that appends entries to the active segment, seals it when full (handing
//! it to the `sealer` to compress), keeps
//! the seq lease ahead of the emitter, forces data to disk as the fsync mode says, and deletes the
//! oldest segments beyond retention.
//!
//! Each batch the sink thread hands over becomes one buffer and one `write` (plus an `fsync` with
//! `--fsync always`); with `interval` a flusher thread syncs the active segment when it is dirty.
//! A write that fails (disk full, dir gone) is cut back off the file, its entries are counted as not
//! written and said once on stderr; the next batch tries again, and success is said too. Live
//! streaming never depends on any of it.
//!
//! The lease: seqs stamped by the emitter but not yet written are invisible after a crash, and a
//! restart must not give them again. So the writer records, in the segment, a seq above everything
//! stamped so far (the stamped seq plus a margin that grows with the rate), and a restart continues
//! above the highest lease on disk. The seqs between the last entry on disk and that lease are the
//! ones a crash may have lost, and are reported as such. A graceful stop records the exact stamped
//! seq, so the next start continues without any loss to report.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::format::{self, Head, Kind};
use super::sealer::Sealer;
use super::segment::Segment;
use super::{Catalog, DiskConfig, DiskError, Fsync, sync_dir};
use crate::model::LogEntry;
use crate::server::store::Sink;

mod outage;

use outage::{Outage, Say};

/// The smallest lease margin: seqs the emitter may stamp past the last lease record before the
/// writer records a new one (at least the default live buffer, which a sink reads in one go).
const MIN_MARGIN: u64 = 4096;
/// The largest it grows to.
const MAX_MARGIN: u64 = 1 << 24;

/// The segment being appended to.
#[derive(Debug)]
pub(crate) struct Active {
    id: u64,
    file: Arc<File>,
    len: u64,
    /// Entries written to it.
    entries: u64,
}

/// Creates segment `id` in `dir` holding its header, the record of seqs lost at this restart (if
/// any) and a first lease; synced, with its directory entry, before the first entry is stamped.
pub(crate) fn begin(
    dir: &Path,
    id: u64,
    lost: Option<(u64, u64)>,
    lease: u64,
) -> Result<(Active, Segment), DiskError> {
    let path = dir.join(Segment::file_name(id));
    let mut bytes = format::header(format::MAGIC).to_vec();
    if let Some((from, to)) = lost {
        format::append_unwritten(&mut bytes, from, to);
    }
    format::append_lease(&mut bytes, lease);
    let create = || -> std::io::Result<File> {
        let mut file = File::options()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        sync_dir(dir)?;
        Ok(file)
    };
    let file = create().map_err(|e| DiskError::io("create", &path, e))?;
    let len = bytes.len() as u64;
    let active = Active {
        id,
        file: Arc::new(file),
        len,
        entries: 0,
    };
    Ok((active, Segment::new(path, len)))
}

/// The sink that writes entries to the data dir.
pub(crate) struct Writer {
    catalog: Arc<Catalog>,
    active: Active,
    buf: Vec<u8>,
    heads: Vec<(Head, u64, usize)>,
    lease: u64,
    margin: u64,
    last_stamped: u64,
    /// The newest seq the emitter has stamped.
    stamped: Box<dyn Fn() -> u64 + Send>,
    flusher: Option<Flusher>,
    /// Writing failing, and what of it has been said.
    outage: Outage,
    /// Compresses the segments this writer is done with.
    sealer: Option<Sealer>,
}

impl Writer {
    /// A writer appending to `active`, whose last lease is `lease`.
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        active: Active,
        lease: u64,
        stamped: Box<dyn Fn() -> u64 + Send>,
    ) -> std::io::Result<Writer> {
        let flusher = match catalog.config.fsync {
            Fsync::Interval(every) => Some(Flusher::start(Arc::clone(&active.file), every)?),
            Fsync::Always | Fsync::Never => None,
        };
        let stamped_now = stamped();
        let sealer = Some(Sealer::start(Arc::clone(&catalog))?);
        Ok(Writer {
            catalog,
            active,
            buf: Vec::with_capacity(1 << 20),
            heads: Vec::new(),
            lease,
            margin: MIN_MARGIN,
            last_stamped: stamped_now,
            stamped,
            flusher,
            outage: Outage::default(),
            sealer,
        })
    }

    fn config(&self) -> &DiskConfig {
        &self.catalog.config
    }

    /// Appends a lease record to the batch when the emitter is getting close to the last one.
    fn extend_lease(&mut self) {
        let stamped = (self.stamped)();
        let ahead = stamped.saturating_sub(self.last_stamped);
        self.last_stamped = stamped;
        if stamped > self.lease {
            // The emitter outran the lease: a crash now could give some seqs twice. Counted, and
            // the margin grows faster.
            self.catalog.lease_overruns.fetch_add(1, Ordering::Relaxed);
            self.margin = self.margin.saturating_mul(4);
        }
        self.margin = self.margin.max(ahead.saturating_mul(2)).min(MAX_MARGIN);
        if stamped + self.margin / 2 > self.lease {
            self.lease = stamped + self.margin;
            let offset = self.active.len + self.buf.len() as u64;
            let start = self.buf.len();
            format::append_lease(&mut self.buf, self.lease);
            let head = Head {
                kind: Kind::Lease,
                seq: self.lease,
                micros: 0,
            };
            self.heads.push((head, offset, self.buf.len() - start));
        }
    }

    /// Writes the buffer at the end of the active segment; on failure cuts the file back.
    fn flush_buffer(&mut self) -> std::io::Result<()> {
        let at = self.active.len;
        let mut file = &*self.active.file;
        let result = file
            .seek(SeekFrom::Start(at))
            .and_then(|_| file.write_all(&self.buf));
        if result.is_err() {
            // A partial record would read as damage in the middle of the segment.
            let _ = self.active.file.set_len(at);
            return result;
        }
        if self.config().fsync == Fsync::Always {
            self.active.file.sync_data()?;
        }
        self.active.len += self.buf.len() as u64;
        if let Some(flusher) = &self.flusher {
            flusher.shared.dirty.store(true, Ordering::Release);
        }
        Ok(())
    }

    /// Seals the active segment and begins the next.
    fn roll(&mut self) -> Result<(), DiskError> {
        self.catalog.claim_dir()?;
        let dir = self.config().dir.clone();
        if self.config().fsync != Fsync::Never && self.active.file.sync_data().is_err() {
            // What it holds reached the kernel; a segment that cannot be synced must not stop the
            // next one from being written. Counted, not fatal.
            self.catalog.write_errors.fetch_add(1, Ordering::Relaxed);
        }
        let (active, segment) = begin(&dir, self.active.id + 1, None, self.lease)?;
        if let Some(flusher) = &self.flusher {
            *lock(&flusher.shared.file) = Arc::clone(&active.file);
        }
        self.active = active;
        let full = {
            let mut state = self.catalog.lock();
            let full = state.segments.last().map(|s| s.path.clone());
            state.segments.push(segment);
            full
        };
        if let (Some(sealer), Some(full)) = (&self.sealer, full) {
            sealer.seal(full);
        }
        Ok(())
    }

    /// Whether the segment being written was removed from the dir (the dir deleted or unmounted
    /// under the server): writes to it would succeed and be lost, so it is rolled instead, and
    /// what cannot be written is counted.
    fn active_removed(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            self.active.file.metadata().is_ok_and(|m| m.nlink() == 0)
        }
        #[cfg(not(unix))]
        false
    }

    /// Deletes the oldest whole segments beyond the size or age limit (never the active one).
    fn enforce_retention(&self) {
        let config = self.config();
        let now = SystemTime::now();
        let mut gone = Vec::new();
        {
            let mut state = self.catalog.lock();
            while state.segments.len() > 1 {
                let total: u64 = state.segments.iter().map(|s| s.len).sum();
                let oldest = &state.segments[0];
                let too_old = now
                    .duration_since(oldest.modified)
                    .is_ok_and(|age| age > config.retention_age);
                if total <= config.retention_bytes && !too_old {
                    break;
                }
                gone.push(state.segments.remove(0).path);
            }
            if !gone.is_empty()
                && let Some(oldest) = state.segments.iter().find_map(|s| s.first_seq)
            {
                state.unwritten.retain(|&(_, to)| to >= oldest);
            }
        }
        for path in gone {
            // Readers that have it open keep reading; new reads no longer find it.
            let _ = std::fs::remove_file(path);
        }
    }

    fn failed(&mut self, entries: u64, error: &dyn std::fmt::Display) {
        let catalog = &self.catalog;
        let before = catalog.not_written.fetch_add(entries, Ordering::Relaxed);
        catalog.write_errors.fetch_add(1, Ordering::Relaxed);
        catalog.writing.store(false, Ordering::Relaxed);
        if self.outage.failed(before) == Some(Say::Failing) {
            crate::say!(
                "vg: cannot write history to {}: {error}; live streaming goes on, entries not written are counted (GET /healthz, disk.not_written) and writing is retried",
                catalog.config.dir.display()
            );
        }
    }

    fn succeeded(&mut self) {
        let catalog = &self.catalog;
        catalog.writing.store(true, Ordering::Relaxed);
        let not_written = catalog.not_written.load(Ordering::Relaxed);
        if let Some(Say::Back(lost)) = self.outage.succeeded(Instant::now(), not_written) {
            crate::say!(
                "vg: writing history to {} again (for {}s now); {} could not be written meanwhile",
                catalog.config.dir.display(),
                outage::SETTLED.as_secs(),
                crate::format::entries(lost)
            );
        }
    }
}

impl Writer {
    /// Appends entries from the front of `entries` until the segment is full (at least one), and
    /// returns how many it took, written or counted as not written.
    fn append(&mut self, entries: &[Arc<LogEntry>]) -> usize {
        self.buf.clear();
        self.heads.clear();
        let base = self.active.len;
        let limit = self.config().segment_bytes;
        let mut taken = 0;
        for entry in entries {
            taken += 1;
            if let Some(seq) = entry.seq {
                let start = self.buf.len();
                format::append_entry(&mut self.buf, seq, entry);
                let head = Head {
                    kind: Kind::Packed,
                    seq,
                    micros: format::micros(&entry.timestamp),
                };
                self.heads
                    .push((head, base + start as u64, self.buf.len() - start));
            }
            if base + self.buf.len() as u64 >= limit {
                break;
            }
        }
        let count = taken as u64;
        let lease = self.lease;
        self.extend_lease();
        match self.flush_buffer() {
            Ok(()) => {
                let mut state = self.catalog.lock();
                if let Some(segment) = state.segments.last_mut() {
                    for &(head, offset, len) in &self.heads {
                        segment.observe(head, offset, len);
                    }
                    segment.modified = SystemTime::now();
                }
                drop(state);
                self.active.entries += count;
                self.catalog.written.fetch_add(count, Ordering::Relaxed);
                self.succeeded();
            }
            Err(e) => {
                // The lease record did not reach the disk either.
                self.lease = lease;
                self.failed(count, &e);
            }
        }
        taken
    }
}

impl Sink for Writer {
    fn write(&mut self, entries: &[Arc<LogEntry>]) {
        let mut rest = entries;
        while !rest.is_empty() {
            let full = self.active.len >= self.config().segment_bytes && self.active.entries > 0;
            if (full || self.active_removed())
                && let Err(e) = self.roll()
            {
                self.failed(rest.len() as u64, &e);
                break;
            }
            let taken = self.append(rest);
            rest = &rest[taken..];
        }
        self.enforce_retention();
    }

    fn missed(&mut self, from: u64, to: u64) {
        // Fell further behind than the live buffer: these seqs will be a hole on disk.
        let count = to - from + 1;
        self.catalog.not_written.fetch_add(count, Ordering::Relaxed);
        crate::say!(
            "vg: the history writer fell behind; seqs {from}-{to} ({count} entries) were not written to {}",
            self.catalog.config.dir.display()
        );
    }

    fn close(&mut self) {
        // The emitter is gone: what it stamped is final, so the next start continues right above.
        self.buf.clear();
        let stamped = (self.stamped)();
        format::append_lease(&mut self.buf, stamped);
        if self.flush_buffer().is_ok() {
            let _ = self.active.file.sync_all();
        }
        if let Some(flusher) = self.flusher.take() {
            flusher.stop();
        }
        if let Some(sealer) = self.sealer.take() {
            sealer.stop();
        }
    }
}

/// Syncs the active segment every interval while it has unsynced writes (`--fsync interval`).
#[derive(Debug)]
struct Flusher {
    shared: Arc<FlushShared>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct FlushShared {
    file: Mutex<Arc<File>>,
    dirty: AtomicBool,
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Flusher {
    fn start(file: Arc<File>, every: Duration) -> std::io::Result<Flusher> {
        let shared = Arc::new(FlushShared {
            file: Mutex::new(file),
            dirty: AtomicBool::new(false),
            stop: Mutex::new(false),
            wake: Condvar::new(),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("vg-fsync".into())
            .spawn(move || {
                let shared = thread_shared;
                let mut stop = lock(&shared.stop);
                while !*stop {
                    stop = shared
                        .wake
                        .wait_timeout(stop, every)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                    if shared.dirty.swap(false, Ordering::AcqRel) {
                        let file = Arc::clone(&lock(&shared.file));
                        let _ = file.sync_data();
                    }
                }
            })?;
        Ok(Flusher {
            shared,
            thread: Some(thread),
        })
    }

    fn stop(mut self) {
        *lock(&self.shared.stop) = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The first lease of a start whose seqs begin at `first_seq`.
pub(crate) fn first_lease(first_seq: u64) -> u64 {
    first_seq - 1 + MIN_MARGIN
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::server::store::disk;

    fn entries(seqs: std::ops::RangeInclusive<u64>) -> Vec<Arc<LogEntry>> {
        seqs.map(|seq| {
            let mut entry = LogEntry::new(Level::Info, "t", format!("m{seq}"));
            entry.seq = Some(seq);
            Arc::new(entry)
        })
        .collect()
    }

    /// A full disk: `/dev/full` refuses every write with ENOSPC, as a full file system does.
    #[test]
    fn a_full_disk_is_counted_said_and_writing_resumes_when_it_can() {
        let dir = std::env::temp_dir().join(format!("vg-writer-full-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let opened = disk::open(DiskConfig::new(&dir), "test".into()).unwrap();
        let catalog = Arc::clone(&opened.catalog);
        let full = File::options().write(true).open("/dev/full").unwrap();
        let active = Active {
            id: opened.active.id,
            file: Arc::new(full),
            len: HEADER,
            entries: 0,
        };
        let mut writer =
            Writer::new(Arc::clone(&catalog), active, opened.lease, Box::new(|| 30)).unwrap();
        writer.write(&entries(1..=10));
        writer.write(&entries(11..=20));
        let stats = catalog.stats();
        assert_eq!((stats.written, stats.not_written), (0, 20));
        assert_eq!(stats.write_errors, 2);
        assert!(!stats.writing);
        // Space again (the next segment is a real file): writing picks up with the next batch.
        writer.roll().unwrap();
        writer.write(&entries(21..=30));
        let stats = catalog.stats();
        assert_eq!((stats.written, stats.not_written), (10, 20));
        assert!(stats.writing);
        assert_eq!(stats.newest_seq, Some(30));
        let back = catalog.forward(1, 30, 100, true);
        assert_eq!(back.first().and_then(|e| e.seq), Some(21));
        writer.close();
        drop((writer, catalog, opened));
        let _ = std::fs::remove_dir_all(&dir);
    }

    const HEADER: u64 = format::HEADER_LEN;
}
