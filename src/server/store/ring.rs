//! The bounded ring of entries behind the memory history and the viewers' live buffer.
//!
//! Entries are kept in seq order with no holes (the emitter stamps every entry it keeps), so finding
//! a seq is index arithmetic rather than a search. The ring is bounded twice: by entry count and by
//! [`LogEntry::approx_size`] bytes; whichever limit is reached first evicts the oldest entries. The
//! newest entry is always kept, even when it alone is larger than the byte limit, so `hello` can
//! always name the newest seq.

use std::collections::VecDeque;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::model::LogEntry;

/// Entries in seq order, bounded by count and by bytes.
#[derive(Debug)]
pub(crate) struct Ring {
    /// Each entry with the size it was charged when it arrived.
    entries: VecDeque<(Arc<LogEntry>, usize)>,
    bytes: usize,
    max_entries: usize,
    max_bytes: usize,
}

impl Ring {
    /// An empty ring. `max_entries` is raised to 1: a ring that keeps nothing could not resume anyone.
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> Ring {
        Ring {
            entries: VecDeque::new(),
            bytes: 0,
            max_entries: max_entries.max(1),
            max_bytes,
        }
    }

    /// Appends a stamped entry (its seq must follow the newest) and evicts what no longer fits.
    /// Returns the last entry evicted, so the caller can free it after releasing its lock (freeing an
    /// entry is a dozen `free` calls on memory long out of cache).
    #[must_use = "dropping the evicted entry here frees it under the caller's lock"]
    pub(crate) fn push(
        &mut self,
        entry: Arc<LogEntry>,
        size: usize,
    ) -> Option<(Arc<LogEntry>, usize)> {
        let mut evicted = None;
        self.push_evicting(entry, size, |oldest, size| evicted = Some((oldest, size)));
        evicted
    }

    /// As [`Ring::push`], handing every entry it evicts, oldest first, to `evicted`.
    pub(crate) fn push_evicting(
        &mut self,
        entry: Arc<LogEntry>,
        size: usize,
        mut evicted: impl FnMut(Arc<LogEntry>, usize),
    ) {
        debug_assert!(
            self.newest_seq()
                .is_none_or(|newest| entry.seq == Some(newest + 1)),
            "history seqs must be contiguous"
        );
        self.entries.push_back((entry, size));
        self.bytes += size;
        while self.entries.len() > self.max_entries
            || (self.bytes > self.max_bytes && self.entries.len() > 1)
        {
            if let Some((oldest, size)) = self.entries.pop_front() {
                self.bytes -= size;
                evicted(oldest, size);
            }
        }
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// The oldest seq still retained.
    pub(crate) fn oldest_seq(&self) -> Option<u64> {
        self.entries.front().and_then(|(e, _)| e.seq)
    }

    /// The timestamp of the oldest entry retained.
    pub(crate) fn oldest_time(&self) -> Option<DateTime<Utc>> {
        self.entries.front().map(|(e, _)| e.timestamp)
    }

    /// The newest seq retained (always the newest stamped).
    pub(crate) fn newest_seq(&self) -> Option<u64> {
        self.entries.back().and_then(|(e, _)| e.seq)
    }

    /// How many entries are retained.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The bytes charged for the retained entries.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Up to `max` entries with `from <= seq <= to`, oldest first. Evicted seqs are simply absent:
    /// the caller compares the first seq it got with `from` to learn what is gone.
    pub(crate) fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let Some(oldest) = self.oldest_seq() else {
            return Vec::new();
        };
        let start = from.max(oldest);
        if start > to {
            return Vec::new();
        }
        let first = usize::try_from(start - oldest).unwrap_or(usize::MAX);
        let count = usize::try_from(to - start + 1).unwrap_or(usize::MAX);
        self.entries
            .iter()
            .skip(first)
            .take(count.min(max))
            .map(|(e, _)| Arc::clone(e))
            .collect()
    }

    /// As [`Ring::forward`] from `from` to the newest, stopping before the entries' charged sizes
    /// pass `max_bytes` (the first is always taken); also returns what they were charged.
    pub(crate) fn forward_sized(
        &self,
        from: u64,
        max: usize,
        max_bytes: usize,
    ) -> (Vec<Arc<LogEntry>>, usize) {
        let Some(oldest) = self.oldest_seq() else {
            return (Vec::new(), 0);
        };
        let first = usize::try_from(from.max(oldest) - oldest).unwrap_or(usize::MAX);
        let mut bytes = 0;
        let mut out = Vec::new();
        for (entry, size) in self.entries.iter().skip(first).take(max) {
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            out.push(Arc::clone(entry));
        }
        (out, bytes)
    }

    /// Up to `max` entries with `seq < before`, newest first.
    pub(crate) fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let Some(oldest) = self.oldest_seq() else {
            return Vec::new();
        };
        if before <= oldest {
            return Vec::new();
        }
        let end = usize::try_from(before - oldest)
            .unwrap_or(usize::MAX)
            .min(self.entries.len());
        self.entries
            .range(..end)
            .rev()
            .take(max)
            .map(|(e, _)| Arc::clone(e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn entry(seq: u64, message: &str) -> Arc<LogEntry> {
        let mut e = LogEntry::new(Level::Info, "t", message);
        e.seq = Some(seq);
        Arc::new(e)
    }

    fn seqs(entries: &[Arc<LogEntry>]) -> Vec<u64> {
        entries.iter().map(|e| e.seq.unwrap()).collect()
    }

    #[test]
    fn count_limit_evicts_oldest() {
        let mut h = Ring::new(3, usize::MAX);
        for seq in 1..=5 {
            let _ = h.push(entry(seq, "x"), 10);
        }
        assert_eq!(
            (h.oldest_seq(), h.newest_seq(), h.len()),
            (Some(3), Some(5), 3)
        );
        assert_eq!(h.bytes(), 30);
    }

    #[test]
    fn byte_limit_evicts_oldest_but_keeps_the_newest() {
        let mut h = Ring::new(100, 25);
        for seq in 1..=4 {
            let _ = h.push(entry(seq, "x"), 10);
        }
        assert_eq!(seqs(&h.forward(0, u64::MAX, 10)), [3, 4]);
        let _ = h.push(entry(5, "huge"), 1000);
        assert_eq!(seqs(&h.forward(0, u64::MAX, 10)), [5]);
        assert_eq!(h.bytes(), 1000);
    }

    #[test]
    fn forward_clamps_to_what_is_retained_and_to_the_bounds() {
        let mut h = Ring::new(5, usize::MAX);
        assert!(h.forward(1, 10, 10).is_empty());
        for seq in 1..=8 {
            let _ = h.push(entry(seq, "x"), 1);
        }
        assert_eq!(seqs(&h.forward(1, 100, 100)), [4, 5, 6, 7, 8]);
        assert_eq!(seqs(&h.forward(5, 7, 100)), [5, 6, 7]);
        assert_eq!(seqs(&h.forward(5, 100, 2)), [5, 6]);
        assert!(h.forward(9, 100, 10).is_empty());
        assert!(h.forward(6, 5, 10).is_empty());
    }

    #[test]
    fn forward_sized_stops_at_the_byte_bound_but_always_takes_one() {
        let mut h = Ring::new(10, usize::MAX);
        for seq in 1..=5 {
            let _ = h.push(entry(seq, "x"), 10);
        }
        let (got, bytes) = h.forward_sized(2, 100, 25);
        assert_eq!((seqs(&got), bytes), (vec![2, 3], 20));
        let (got, bytes) = h.forward_sized(4, 100, 5);
        assert_eq!((seqs(&got), bytes), (vec![4], 10));
        assert!(h.forward_sized(6, 100, 100).0.is_empty());
    }

    #[test]
    fn backward_reads_newest_first_below_a_seq() {
        let mut h = Ring::new(5, usize::MAX);
        for seq in 1..=8 {
            let _ = h.push(entry(seq, "x"), 1);
        }
        assert_eq!(seqs(&h.backward(u64::MAX, 3)), [8, 7, 6]);
        assert_eq!(seqs(&h.backward(6, 10)), [5, 4]);
        assert!(h.backward(4, 10).is_empty());
    }

    #[test]
    fn zero_entry_limit_still_keeps_one() {
        let mut h = Ring::new(0, 0);
        let _ = h.push(entry(1, "a"), 5);
        let _ = h.push(entry(2, "b"), 5);
        assert_eq!(seqs(&h.forward(0, u64::MAX, 10)), [2]);
    }
}
