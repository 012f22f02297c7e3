//! The sealer: compresses each segment the writer has finished with (`sealed` has the format), on a
//! thread of its own so that neither `emit()` nor the writer waits for zstd.
//!
//! Sealing never puts what is stored at risk: the compressed segment is written to a temporary
//! file next to the open one, synced, and only then renamed over it. Until the rename, the open
//! segment is untouched and is what start-up and readers use; a crash leaves at worst a temporary
//! file, which the next start deletes before sealing again. A reader that took its snapshot
//! before the rename sees the new header and takes a new snapshot. Segments left open by a stop
//! (or written by format 1) are sealed after the next start.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use super::format::{self, Layout, Parsed};
use super::sealed::Builder;
use super::segment::{self, Segment};
use super::{Catalog, sync_dir};

/// The sealer's thread and its queue. The queue holds paths of segments waiting to be sealed, at
/// most one per segment file, so retention bounds it.
#[derive(Debug)]
pub(crate) struct Sealer {
    queue: Option<Sender<PathBuf>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Sealer {
    /// Starts the thread, with every open segment but the newest (the one being written) queued.
    pub(crate) fn start(catalog: Arc<Catalog>) -> std::io::Result<Sealer> {
        let (queue, waiting) = std::sync::mpsc::channel();
        {
            let state = catalog.lock();
            let count = state.segments.len().saturating_sub(1);
            for segment in state.segments[..count].iter().filter(|s| !s.sealed) {
                let _ = queue.send(segment.path.clone());
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vg-seal".into())
            .spawn(move || run(&catalog, &waiting, &thread_stop))?;
        Ok(Sealer {
            queue: Some(queue),
            stop,
            thread: Some(thread),
        })
    }

    /// Queues a segment the writer is done with.
    pub(crate) fn seal(&self, path: PathBuf) {
        if let Some(queue) = &self.queue {
            let _ = queue.send(path);
        }
    }

    /// Stops at once: a seal under way is abandoned (its temporary file removed) and what is still
    /// queued stays open, to be sealed after the next start.
    pub(crate) fn stop(self) {
        drop(self);
    }
}

impl Drop for Sealer {
    fn drop(&mut self) {
        // The thread holds the catalog (and with it the dir's lock): it must end with the writer.
        self.stop.store(true, Ordering::Relaxed);
        self.queue = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(catalog: &Catalog, waiting: &Receiver<PathBuf>, stop: &AtomicBool) {
    for path in waiting {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if let Err(e) = seal(catalog, &path, stop)
            && e.kind() != std::io::ErrorKind::Interrupted
        {
            // It stays open and is read as it is; the next start tries again.
            catalog.seal_failed(&path, &e);
        }
    }
}

/// The temporary file a segment is sealed into.
pub(crate) fn temporary(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Seals the open segment at `path`, if the catalog still has it open.
fn seal(catalog: &Catalog, path: &Path, stop: &AtomicBool) -> std::io::Result<()> {
    let found = {
        let state = catalog.lock();
        state
            .segments
            .iter()
            .find(|s| s.path == path && !s.sealed)
            .map(|s| (s.len, s.damaged.clone()))
    };
    let Some((len, damaged)) = found else {
        return Ok(());
    };
    let tmp = temporary(path);
    let sealed = match compress(path, len, &damaged, &tmp, stop) {
        Ok(sealed) => sealed,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    install(catalog, path, &tmp, sealed)
}

/// Writes the records of the open segment at `path` (its first `len` bytes, jumping over the
/// damaged spans recovery found) as a sealed segment into `tmp`, synced. The open segment is only
/// read.
pub(crate) fn compress(
    path: &Path,
    len: u64,
    damaged: &[(u64, u64)],
    tmp: &Path,
    stop: &AtomicBool,
) -> std::io::Result<Segment> {
    let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut header = [0; format::HEADER_LEN as usize];
    reader.read_exact(&mut header)?;
    if format::check_header(&header) != Ok(Layout::Open) {
        return Err(std::io::Error::other("not an open segment"));
    }
    let mut builder = Builder::create(tmp)?;
    let mut offset = format::HEADER_LEN;
    let mut buf = Vec::new();
    while offset < len {
        if stop.load(Ordering::Relaxed) {
            return Err(std::io::ErrorKind::Interrupted.into());
        }
        if let Some(&(_, resume)) = damaged.iter().find(|(start, _)| *start == offset) {
            offset = resume;
            reader.seek(SeekFrom::Start(offset))?;
            continue;
        }
        let record = segment::read_record(&mut reader, &mut buf, len - offset);
        let Some(Parsed::Record { head, len: size }) = record.map(|n| format::parse(&buf[..n]))
        else {
            // Damaged since start: sealing would lose it silently, so the segment stays open.
            return Err(std::io::Error::other(format!(
                "the record at offset {offset} was damaged after start"
            )));
        };
        builder.push(head, &buf[..size])?;
        offset += size as u64;
    }
    builder.finish(path)
}

/// Puts the sealed segment in place of the open one, unless retention deleted that meanwhile. The
/// rename happens under the catalog's lock, so that retention cannot delete the open file and then
/// see the sealed one appear under its name.
pub(crate) fn install(
    catalog: &Catalog,
    path: &Path,
    tmp: &Path,
    mut sealed: Segment,
) -> std::io::Result<()> {
    let mut state = catalog.lock();
    let Some(open) = state.segments.iter_mut().find(|s| s.path == path) else {
        drop(state);
        return std::fs::remove_file(tmp);
    };
    // Retention by age goes by when its entries were written, not by when it was sealed.
    let kept = File::options()
        .write(true)
        .open(tmp)
        .and_then(|f| f.set_modified(open.modified));
    if let Err(e) = kept.and_then(|()| std::fs::rename(tmp, path)) {
        drop(state);
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    sealed.modified = open.modified;
    *open = sealed;
    drop(state);
    sync_dir(&catalog.config.dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::server::store::disk::{self, DiskConfig};
    use crate::server::{Emitter, EmitterConfig};

    fn emitter(config: &DiskConfig) -> Emitter {
        let config = EmitterConfig::default()
            .read_env(false)
            .history(16, usize::MAX)
            .disk(config.clone());
        Emitter::open(config).unwrap()
    }

    fn messages(emitter: &Emitter) -> Vec<(u64, String)> {
        let history = emitter.history();
        let mut out = Vec::new();
        loop {
            let next = out.last().map_or(1, |(seq, _)| seq + 1);
            let chunk = history.forward(next, u64::MAX, 500);
            if chunk.is_empty() {
                return out;
            }
            out.extend(chunk.iter().map(|e| (e.seq.unwrap(), e.message.clone())));
        }
    }

    /// A crash while sealing, at its worst moment: the compressed file is complete (or torn) but not
    /// yet renamed. The open segment is untouched, the next start serves every entry from it and
    /// seals it again.
    #[test]
    fn a_crash_before_the_rename_loses_nothing_and_the_next_start_seals_again() {
        let dir = std::env::temp_dir().join(format!("vg-sealer-crash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = DiskConfig::new(&dir).segment_bytes(16 * 1024);
        let first = emitter(&config);
        for i in 1..=300 {
            first.log(Level::Info, "t", format!("m{i}"));
            if i % 100 == 0 {
                while first.disk_stats().unwrap().newest_seq < Some(i) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
        let expected = messages(&first);
        assert_eq!(expected.len(), 300);
        drop(first);

        // Opened without a writer, so no sealer: the segment the last start wrote is still open.
        let opened = disk::open(config.clone(), "unused".into()).unwrap();
        let (path, len, damaged) = {
            let state = opened.catalog.lock();
            let open = &state.segments[state.segments.len() - 2];
            assert!(!open.sealed && open.entries > 0);
            (open.path.clone(), open.len, open.damaged.clone())
        };
        let before = std::fs::read(&path).unwrap();
        let tmp = temporary(&path);
        let stop = AtomicBool::new(false);
        let sealed = compress(&path, len, &damaged, &tmp, &stop).unwrap();
        assert_eq!(sealed.last_seq, Some(300));
        assert_eq!(
            std::fs::read(&path).unwrap(),
            before,
            "the open segment was changed"
        );
        // Torn as a crash mid-write could leave it.
        let tmp_len = std::fs::metadata(&tmp).unwrap().len();
        File::options()
            .write(true)
            .open(&tmp)
            .unwrap()
            .set_len(tmp_len / 2)
            .unwrap();
        drop(opened);

        let second = emitter(&config);
        assert_eq!(messages(&second), expected);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !std::fs::read(&path)
            .unwrap()
            .starts_with(&format::SEALED_MAGIC)
        {
            assert!(std::time::Instant::now() < deadline, "never sealed again");
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(messages(&second), expected);
        // The start in between crashed too (it was only opened): seqs go on above its lease.
        assert!(second.log(Level::Info, "t", "next") > 300);
        drop(second);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
