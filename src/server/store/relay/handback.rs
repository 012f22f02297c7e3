//! The hand-back queue: entries the relay's live ring evicted while holding their last reference,
//! waiting for `emit()` to free them on an emitting thread (the app's, which allocated them, unless
//! several threads emit).
//!
//! Under glibc's malloc a thread that allocates every entry and frees none finds its per-thread
//! cache always empty, and each of its allocations takes the slow path under the arena lock the
//! freeing thread holds (docs/benchmarks.md, "The relay hop"). So the relay does not free what it
//! held last: it queues it here, inside the state `emit()` already locks, and each `emit()` takes
//! one and drops it after releasing its locks. Bounded in entries and bytes; what does not fit is
//! the relay's to free.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::model::LogEntry;

/// Most entries waiting: a delivery evicts about as many as it brings (tens in a tight loop), and
/// every `emit()` takes [`PER_EMIT`].
const MAX_ENTRIES: usize = 1024;
/// Entries each `emit()` takes: one, as its entry will evict one, so the app frees as it allocates
/// (two per `emit()` measured no better).
const PER_EMIT: usize = 1;

/// What one `emit()` takes, to drop once its locks are released.
pub(crate) type Freed = [Option<Arc<LogEntry>>; PER_EMIT];

/// Entries with the sizes history charged them, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Handback {
    queue: VecDeque<(Arc<LogEntry>, usize)>,
    bytes: usize,
}

impl Handback {
    /// The oldest entries waiting, as many as one `emit()` frees.
    pub(crate) fn take(&mut self) -> Freed {
        let mut freed = Freed::default();
        for slot in &mut freed {
            let Some((entry, size)) = self.queue.pop_front() else {
                break;
            };
            self.bytes -= size;
            *slot = Some(entry);
        }
        freed
    }

    /// Moves the oldest of `entries` in, as many as fit in [`MAX_ENTRIES`] and `max_bytes`; the
    /// rest stay in `entries`, for the caller to drop outside the lock.
    pub(crate) fn give(&mut self, entries: &mut Vec<(Arc<LogEntry>, usize)>, max_bytes: usize) {
        let mut taken = 0;
        for (_, size) in entries.iter() {
            if self.queue.len() + taken >= MAX_ENTRIES || self.bytes + size > max_bytes {
                break;
            }
            self.bytes += size;
            taken += 1;
        }
        self.queue.extend(entries.drain(..taken));
    }

    /// Everything waiting, for a caller that frees it itself (nobody may emit to take it).
    pub(crate) fn take_all(&mut self) -> VecDeque<(Arc<LogEntry>, usize)> {
        self.bytes = 0;
        std::mem::take(&mut self.queue)
    }

    #[cfg(test)]
    pub(crate) fn seqs_and_bytes(&self) -> (Vec<u64>, usize) {
        let seqs = self.queue.iter().filter_map(|(e, _)| e.seq).collect();
        (seqs, self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn entry(seq: u64) -> (Arc<LogEntry>, usize) {
        let mut entry = LogEntry::new(Level::Info, "t", "m");
        entry.seq = Some(seq);
        (Arc::new(entry), 100)
    }

    #[test]
    fn keeps_the_oldest_within_its_bounds_and_gives_them_out_one_at_a_time() {
        let mut handback = Handback::default();
        let mut evicted: Vec<_> = (1..=4).map(entry).collect();
        // 250 bytes: two of 100 fit, the other two are the caller's to free.
        handback.give(&mut evicted, 250);
        assert_eq!(handback.seqs_and_bytes(), (vec![1, 2], 200));
        let left: Vec<u64> = evicted.iter().filter_map(|(e, _)| e.seq).collect();
        assert_eq!(left, [3, 4]);
        let seqs =
            |freed: Freed| -> Vec<u64> { freed.iter().flatten().filter_map(|e| e.seq).collect() };
        assert_eq!(seqs(handback.take()), [1]);
        assert_eq!(seqs(handback.take()), [2]);
        assert!(seqs(handback.take()).is_empty());
        assert_eq!(handback.seqs_and_bytes(), (vec![], 0));
    }

    #[test]
    fn holds_at_most_its_entry_bound() {
        let mut handback = Handback::default();
        let mut evicted: Vec<_> = (1..=MAX_ENTRIES as u64 + 5).map(entry).collect();
        handback.give(&mut evicted, usize::MAX);
        assert_eq!(handback.seqs_and_bytes().0.len(), MAX_ENTRIES);
        assert_eq!(evicted.len(), 5);
        assert_eq!(handback.take_all().len(), MAX_ENTRIES);
        assert_eq!(handback.seqs_and_bytes(), (vec![], 0));
    }
}
