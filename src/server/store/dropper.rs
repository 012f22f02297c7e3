//! Frees the entries history evicts, off the app's thread.
//!
//! With a full history every `emit()` evicts one entry, and freeing it (a dozen blocks written long
//! ago, out of cache) was most of `emit()`'s cost. The emitter collects evicted entries under the lock
//! it already holds ([`Evicted::push`], a push onto a warm vector) and, every [`BATCH`] of them or
//! every [`BATCH_BYTES`] of their memory, whichever comes first, hands the batch to a thread that
//! frees it. The hand-off never waits: when the thread is behind (its queue of [`QUEUED`] batches is
//! full) or could not be started, the app's thread frees the batch itself, as it did before. So
//! memory beyond the history is bounded by `QUEUED + 1` batches, each at most `BATCH` entries and
//! `BATCH_BYTES` plus one entry (large entries are not held back waiting for 255 more), and
//! `emit()` still never blocks.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

use crate::model::LogEntry;

/// Evicted entries handed over at once: the wake-up of the freeing thread (a system call when it
/// sleeps) is paid once per batch, so at most one `emit()` in this many pays it.
pub(crate) const BATCH: usize = 256;
/// Evicted memory (as history counts it) handed over at once, however few entries that is.
pub(crate) const BATCH_BYTES: usize = 1 << 20;
/// Batches that may wait for the freeing thread before the app's thread frees them itself.
const QUEUED: usize = 4;

/// Evicted entries waiting for the next hand-off; lives under the emitter's lock.
#[derive(Debug, Default)]
pub(crate) struct Evicted {
    batch: Vec<Arc<LogEntry>>,
    bytes: usize,
}

impl Evicted {
    /// Keeps an evicted entry; returns a full batch for the caller to hand over after releasing
    /// its lock.
    pub(crate) fn push(&mut self, entry: Arc<LogEntry>, size: usize) -> Option<Vec<Arc<LogEntry>>> {
        if self.batch.capacity() == 0 {
            self.batch.reserve_exact(BATCH);
        }
        self.batch.push(entry);
        self.bytes += size;
        if self.batch.len() < BATCH && self.bytes < BATCH_BYTES {
            return None;
        }
        self.bytes = 0;
        Some(std::mem::take(&mut self.batch))
    }
}

/// The sending side of the freeing thread; the thread ends when this is dropped.
#[derive(Debug)]
pub(crate) struct Dropper {
    tx: Option<SyncSender<Vec<Arc<LogEntry>>>>,
}

impl Dropper {
    /// Starts the freeing thread. Without one (the system refused a thread), batches are freed by
    /// whoever hands them over.
    pub(crate) fn start() -> Dropper {
        let (tx, rx) = sync_channel(QUEUED);
        let started = std::thread::Builder::new()
            .name("vg-dropper".into())
            .spawn(move || free_all(&rx))
            .is_ok();
        Dropper {
            tx: started.then_some(tx),
        }
    }

    /// Hands a batch to the freeing thread, or frees it here when the thread is behind or gone.
    pub(crate) fn hand_over(&self, batch: Vec<Arc<LogEntry>>) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(batch) {
            Ok(()) => {}
            // Dropped here, on the caller's thread: waiting for room would block the app.
            Err(TrySendError::Full(batch) | TrySendError::Disconnected(batch)) => drop(batch),
        }
    }
}

fn free_all(rx: &Receiver<Vec<Arc<LogEntry>>>) {
    while let Ok(batch) = rx.recv() {
        drop(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    #[test]
    fn batches_are_handed_over_full_and_every_entry_is_freed() {
        let entry = Arc::new(LogEntry::new(Level::Info, "api", "x"));
        let mut evicted = Evicted::default();
        let dropper = Dropper::start();
        let mut handed = 0;
        for _ in 0..BATCH * 3 + 7 {
            if let Some(batch) = evicted.push(Arc::clone(&entry), 100) {
                assert_eq!(batch.len(), BATCH);
                dropper.hand_over(batch);
                handed += 1;
            }
        }
        assert_eq!(handed, 3);
        // Bounded wait for the thread to free what it was given: only the 7 pending and ours remain.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while Arc::strong_count(&entry) != 8 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(Arc::strong_count(&entry), 8);
    }

    #[test]
    fn large_entries_are_handed_over_without_waiting_for_a_full_batch() {
        let entry = Arc::new(LogEntry::new(Level::Info, "api", "x"));
        let mut evicted = Evicted::default();
        assert!(evicted.push(Arc::clone(&entry), BATCH_BYTES / 2).is_none());
        let batch = evicted.push(Arc::clone(&entry), BATCH_BYTES / 2);
        assert_eq!(batch.map(|b| b.len()), Some(2));
        // The count starts again after a hand-over.
        assert!(evicted.push(Arc::clone(&entry), 10).is_none());
    }
}
