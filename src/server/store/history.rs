//! The one interface every reader of past entries asks: WebSocket backfill, `after=SEQ` resume,
//! `since`/`until` windows and `GET /api/logs`.
//!
//! An implementation provides four primitives (the stream's identity, its bounds, and chunked reads
//! forward and backward by seq); the questions readers ask are built on them once, here: the last N
//! matching entries, a forward [`Scan`] that reports what is no longer held, and where a time window
//! starts. The memory ring is the first implementation; a durable one answers the same questions
//! from disk by overriding what it can do better (a time index for [`History::seek_time`]).
//!
//! Reads come in chunks of [`CHUNK`] so that no reader holds a lock (or a file) for long, and so that
//! a large answer can be streamed instead of built whole.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::disk::records::Records;
use crate::filter::Filter;
use crate::model::LogEntry;

/// How many entries one read takes at most.
pub(crate) const CHUNK: usize = 512;

/// What history holds at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bounds {
    /// Oldest seq still held.
    pub oldest: Option<u64>,
    /// Newest seq stamped; everything newer is yet to come.
    pub newest: Option<u64>,
    /// The timestamp of the oldest entry still held.
    pub oldest_time: Option<DateTime<Utc>>,
}

/// Past entries of one stream, in seq order. Implementations are shared between threads and answer
/// every read with entries that are already stamped; seqs they no longer hold are simply absent.
pub trait History: Send + Sync + std::fmt::Debug {
    /// Unique to one stream of seqs: a client resuming with another identity missed a restart of
    /// the stream (its seqs start over), not just some entries.
    fn identity(&self) -> &str;

    /// The oldest and newest seqs now.
    fn bounds(&self) -> Bounds;

    /// Up to `max` held entries with `from <= seq <= to`, oldest first.
    fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>>;

    /// Up to `max` held entries with `seq < before`, newest first.
    fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>>;

    /// As [`History::forward`], entries kept on disk as they are stored, for a reader that writes
    /// them out without building a `LogEntry` (a viewer's backfill). Only vg's durable history has
    /// any; `None` means "read with `forward`" (entries in memory, a hole, nothing held).
    #[expect(
        private_interfaces,
        reason = "stored records are the disk format's own; any other History keeps the default"
    )]
    fn forward_stored(&self, from: u64, to: u64, max: usize) -> Option<Records> {
        let _ = (from, to, max);
        None
    }

    /// The lowest seq that may hold an entry timestamped at or after `time`: a `since` window's scan
    /// starts there. Timestamps come from apps and need not be in seq order, so an implementation
    /// without an index answers `None` (read from the oldest; the filter does the rest).
    fn seek_time(&self, time: DateTime<Utc>) -> Option<u64> {
        let _ = time;
        None
    }

    /// The seq an `until` window's reading can stop at: everything above it is held in parts (disk
    /// segments) whose oldest entry is already past `time`. `None` when nothing can be skipped
    /// (an implementation without an index); readers then stop at the first entry past `time`.
    fn seek_until(&self, time: DateTime<Utc>) -> Option<u64> {
        let _ = time;
        None
    }

    /// The parts of `from..=to` that an earlier start of this stream stamped (or may have) and
    /// never kept: lost at a restart rather than evicted. Only a durable history knows of any.
    fn unwritten(&self, from: u64, to: u64) -> Vec<(u64, u64)> {
        let _ = (from, to);
        Vec::new()
    }

    /// Where the newest `n` entries with `from <= seq <= to` that pass `filter` start: the seq of
    /// the oldest of them, `None` when none pass. Only the seq is kept, so a viewer asking for a
    /// large tail reads it forward afterwards in chunks its memory budget covers; the walk back
    /// reads about `max_bytes` at a time (see [`Pager`]).
    fn tail_start(
        &self,
        filter: &Filter,
        from: u64,
        to: u64,
        n: usize,
        max_bytes: usize,
    ) -> Option<u64> {
        let mut pager = Pager::new(max_bytes);
        let mut found = 0;
        let mut start = None;
        let mut before = to.saturating_add(1);
        while found < n && before > from {
            let chunk = self.backward(before, pager.count());
            // Only seqs are kept: a read's size matters while it is counted, not after.
            pager.fit(&chunk);
            let Some(last) = chunk.last().and_then(|e| e.seq) else {
                break;
            };
            before = last;
            let in_range = chunk.iter().take_while(|e| e.seq >= Some(from));
            for entry in in_range.filter(|e| filter.matches(e)).take(n - found) {
                found += 1;
                start = entry.seq;
            }
        }
        start
    }
}

/// Sizes chunked reads to a byte budget. Entries read from disk are decoded for their reader
/// alone, so a count alone would let one read of large entries cost hundreds of megabytes. A read
/// asks for as many entries as fitted in `max_bytes` last time (at least one), and after a read
/// that fitted up to twice as many, as far as that read's average entry size says `max_bytes` holds,
/// from [`Pager::FIRST`] up to [`CHUNK`]. Small reads stay cheap on disk:
/// a segment's index has a block at least every 64 KiB of records, where a read can start.
#[derive(Debug)]
pub(crate) struct Pager {
    max_bytes: usize,
    count: usize,
}

impl Pager {
    const FIRST: usize = 16;

    /// How many entries the next read should ask for.
    fn count(&self) -> usize {
        self.count
    }

    pub(crate) fn new(max_bytes: usize) -> Pager {
        Pager {
            max_bytes,
            count: Pager::FIRST,
        }
    }

    /// The next read forward: up to the sized count of `history`'s entries with `from <= seq <= to`,
    /// cut to those within `max_bytes` (at least the first).
    pub(crate) fn forward(
        &mut self,
        history: &dyn History,
        from: u64,
        to: u64,
    ) -> Vec<Arc<LogEntry>> {
        let mut entries = history.forward(from, to, self.count);
        let keep = self.fit(&entries);
        entries.truncate(keep);
        entries
    }

    /// As [`Pager::forward`], entries as stored on disk (see [`History::forward_stored`]), each
    /// counted at what it holds as stored.
    pub(crate) fn forward_stored(
        &mut self,
        history: &dyn History,
        from: u64,
        to: u64,
    ) -> Option<Records> {
        let mut records = history.forward_stored(from, to, self.count)?;
        let keep = self.fit_sizes(records.sizes());
        records.truncate(keep);
        Some(records)
    }

    /// Sizes the next read from this one's answer; returns how many of `entries` to keep: those
    /// within `max_bytes`, or the first.
    fn fit(&mut self, entries: &[Arc<LogEntry>]) -> usize {
        self.fit_sizes(entries.iter().map(|entry| entry.approx_size()))
    }

    /// [`Pager::fit`] for a read whose entries take `sizes` bytes each.
    fn fit_sizes(&mut self, sizes: impl ExactSizeIterator<Item = usize>) -> usize {
        let len = sizes.len();
        let mut total = 0usize;
        let fitting = sizes
            .take_while(|size| {
                total = total.saturating_add(*size);
                total <= self.max_bytes
            })
            .count();
        let keep = fitting.max(1).min(len);
        self.count = if fitting < len {
            keep
        } else {
            // Grow at most twofold, and no further than this read's average entry size says the
            // budget holds: doubling blindly past it had every other read of a long backfill
            // decode entries only to drop them (a read from disk decodes every entry it returns).
            let each = (total / len.max(1)).max(1);
            (self.max_bytes / each).clamp(1, self.count * 2).min(CHUNK)
        };
        keep
    }
}

/// The first seq a reader of `filter`'s time window needs to look at: where its `since` seeks to,
/// or `otherwise` (where the reader starts without an index: a viewer, at the oldest seq its `hello`
/// named, so that what is evicted meanwhile is still reported).
pub(crate) fn window_start(history: &dyn History, filter: &Filter, otherwise: u64) -> u64 {
    filter
        .since()
        .and_then(|since| history.seek_time(since))
        .unwrap_or(otherwise)
}

/// The last seq a reader of `filter`'s time window needs to look at: `newest`, or below it where the
/// window's `until` lets whole parts of history be skipped.
pub(crate) fn window_end(history: &dyn History, filter: &Filter, newest: u64) -> u64 {
    filter
        .until()
        .and_then(|until| history.seek_until(until))
        .map_or(newest, |end| end.min(newest))
}

/// Whether `entry` ends a forward read of `filter`'s window: the first entry past `until` does.
/// Timestamps come from apps and need not grow with seq, so an entry within the window after a
/// later-stamped one is not read; that is what keeps an `until` read from going on to the end.
pub(crate) fn past_window(filter: &Filter, entry: &LogEntry) -> bool {
    filter.until().is_some_and(|until| entry.timestamp > until)
}

/// What a forward [`Scan`] yields next.
#[derive(Debug, PartialEq)]
pub(crate) enum Chunk {
    /// Entries in seq order, without holes between them.
    Entries(Vec<Arc<LogEntry>>),
    /// The same, as stored on disk (only from a scan that asked, [`Scan::stored`]).
    Stored(Records),
    /// Seqs `from..=to` were stamped but are no longer held (evicted, or never written).
    Missing {
        /// First seq not held.
        from: u64,
        /// Last seq not held.
        to: u64,
    },
    /// Seqs `from..=to` were lost at a restart: an earlier start may have stamped them and died
    /// before they were written (see [`History::unwritten`]).
    Lost {
        /// First seq lost.
        from: u64,
        /// Last seq lost.
        to: u64,
    },
}

/// Reads `from..=to` forward, chunk by chunk, telling held entries from seqs that are gone. Every
/// seq in the range is accounted for exactly once, as an entry or inside a `Missing` range.
#[derive(Debug)]
pub(crate) struct Scan<'a> {
    history: &'a dyn History,
    next: u64,
    to: u64,
    pager: Pager,
    /// Whether entries on disk come as stored.
    stored: bool,
}

impl<'a> Scan<'a> {
    /// A scan over `from..=to`. Seqs never reach `u64::MAX`, and stopping short of it keeps
    /// `to + 1` from overflowing.
    pub(crate) fn new(history: &'a dyn History, from: u64, to: u64) -> Scan<'a> {
        Scan {
            history,
            next: from.max(1),
            to: to.min(u64::MAX - 1),
            pager: Pager {
                max_bytes: usize::MAX,
                count: CHUNK,
            },
            stored: false,
        }
    }

    /// Yields entries kept on disk as [`Chunk::Stored`], not decoded: for a reader that writes
    /// them out as JSON, and handles both kinds of chunk.
    pub(crate) fn stored(mut self) -> Scan<'a> {
        self.stored = true;
        self
    }

    /// Ends each chunk of entries before their sizes (as history charges them) pass `max_bytes`;
    /// the first entry is always taken. A reader holding a chunk while it waits on a
    /// slow client then holds about this much, however large the entries are.
    pub(crate) fn max_bytes(mut self, max_bytes: usize) -> Scan<'a> {
        self.pager = Pager::new(max_bytes);
        self
    }
}

impl Iterator for Scan<'_> {
    type Item = Chunk;

    fn next(&mut self) -> Option<Chunk> {
        if self.next > self.to {
            return None;
        }
        let read = match self
            .stored
            .then(|| self.pager.forward_stored(self.history, self.next, self.to))
            .flatten()
        {
            Some(records) => Chunk::Stored(records),
            None => Chunk::Entries(self.pager.forward(self.history, self.next, self.to)),
        };
        let (first, last) = match &read {
            Chunk::Entries(entries) => (
                entries.first().and_then(|e| e.seq),
                entries.last().and_then(|e| e.seq),
            ),
            Chunk::Stored(records) => (records.first_seq(), records.last_seq()),
            Chunk::Missing { .. } | Chunk::Lost { .. } => (None, None),
        };
        let first = first.unwrap_or(self.to + 1);
        if first > self.next {
            // The entries are read again by the next call: the range before them comes first,
            // split where part of it was lost at a restart.
            let (from, to) = (self.next, first - 1);
            let missing = match self.history.unwritten(from, to).first() {
                Some(&(lost_from, lost_to)) if lost_from == from => {
                    self.next = lost_to + 1;
                    Chunk::Lost { from, to: lost_to }
                }
                Some(&(lost_from, _)) => {
                    self.next = lost_from;
                    Chunk::Missing {
                        from,
                        to: lost_from - 1,
                    }
                }
                None => {
                    self.next = first;
                    Chunk::Missing { from, to }
                }
            };
            return Some(missing);
        }
        self.next = last.map_or(self.to + 1, |s| s + 1);
        Some(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::server::store::ring::Ring;
    use std::sync::Mutex;

    /// A history over a plain ring, as the memory store is, without an emitter around it.
    #[derive(Debug)]
    struct RingHistory(Mutex<Ring>);

    impl History for RingHistory {
        fn identity(&self) -> &str {
            "test"
        }
        fn bounds(&self) -> Bounds {
            let ring = self.0.lock().unwrap();
            Bounds {
                oldest: ring.oldest_seq(),
                newest: ring.newest_seq(),
                oldest_time: None,
            }
        }
        fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>> {
            self.0.lock().unwrap().forward(from, to, max)
        }
        fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
            self.0.lock().unwrap().backward(before, max)
        }
    }

    /// Seqs 1..=`stamped`, of which the ring keeps the newest `kept`; every third is an error.
    fn history(stamped: u64, kept: usize) -> RingHistory {
        let mut ring = Ring::new(kept, usize::MAX);
        for seq in 1..=stamped {
            let level = if seq % 3 == 0 {
                Level::Error
            } else {
                Level::Info
            };
            let mut e = LogEntry::new(level, "t", format!("m{seq}"));
            e.seq = Some(seq);
            let _ = ring.push(Arc::new(e), 1);
        }
        RingHistory(Mutex::new(ring))
    }

    fn seqs(entries: &[Arc<LogEntry>]) -> Vec<u64> {
        entries.iter().filter_map(|e| e.seq).collect()
    }

    #[test]
    fn a_scan_accounts_for_every_seq_once() {
        let h = history(3000, 1000);
        let chunks: Vec<Chunk> = Scan::new(&h, 1, 3000).collect();
        assert_eq!(chunks[0], Chunk::Missing { from: 1, to: 2000 });
        let held: Vec<u64> = chunks[1..]
            .iter()
            .flat_map(|c| match c {
                Chunk::Entries(e) => seqs(e),
                Chunk::Missing { .. } | Chunk::Lost { .. } | Chunk::Stored(_) => {
                    panic!("a hole inside what the ring holds")
                }
            })
            .collect();
        assert_eq!(held, (2001..=3000).collect::<Vec<_>>());
    }

    #[test]
    fn a_scan_past_the_newest_reports_what_was_never_held() {
        let h = history(10, 10);
        let chunks: Vec<Chunk> = Scan::new(&h, 9, 12).collect();
        assert_eq!(
            seqs(match &chunks[0] {
                Chunk::Entries(e) => e,
                Chunk::Missing { .. } | Chunk::Lost { .. } | Chunk::Stored(_) => {
                    panic!("9 and 10 are held")
                }
            }),
            [9, 10]
        );
        assert_eq!(chunks[1], Chunk::Missing { from: 11, to: 12 });
        assert_eq!(chunks.len(), 2);
    }

    #[test]
    fn tail_start_reaches_back_across_chunks() {
        let h = history(5000, 5000);
        let errors = crate::filter::FilterSpec {
            level: Some("error".into()),
            ..Default::default()
        }
        .compile(Utc::now())
        .unwrap();
        // Every third seq (3, 6, ..., 3999 below 4000) is an error: the newest 700 start 699
        // errors before 3999.
        assert_eq!(
            h.tail_start(&errors, 1, 4000, 700, usize::MAX),
            Some(3999 - 3 * 699)
        );
        assert_eq!(h.tail_start(&Filter::all(), 1, 2, 10, usize::MAX), Some(1));
        // The lower bound holds even inside a chunk.
        assert_eq!(h.tail_start(&errors, 2990, 3000, 100, 1), Some(2991));
        assert_eq!(h.tail_start(&errors, 3001, 3001, 5, usize::MAX), None);
    }

    /// A history that counts the entries its reads return (a disk read decodes each of them).
    #[derive(Debug)]
    struct Counted(RingHistory, std::sync::atomic::AtomicUsize);

    impl History for Counted {
        fn identity(&self) -> &str {
            self.0.identity()
        }
        fn bounds(&self) -> Bounds {
            self.0.bounds()
        }
        fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>> {
            let read = self.0.forward(from, to, max);
            self.1
                .fetch_add(read.len(), std::sync::atomic::Ordering::Relaxed);
            read
        }
        fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
            self.0.backward(before, max)
        }
    }

    #[test]
    fn a_byte_sized_scan_settles_on_reads_that_fit_instead_of_reading_entries_it_drops() {
        let h = Counted(history(5000, 5000), std::sync::atomic::AtomicUsize::new(0));
        let one = h.forward(1, 1, 1)[0].approx_size();
        h.1.store(0, std::sync::atomic::Ordering::Relaxed);
        // About 100 entries fit: doubling past that every other read would read and drop ~100.
        let budget = one * 100 + one / 2;
        let sent: usize = Scan::new(&h, 1, 5000)
            .max_bytes(budget)
            .map(|chunk| match chunk {
                Chunk::Entries(entries) => entries.len(),
                other => panic!("nothing is missing: {other:?}"),
            })
            .sum();
        assert_eq!(sent, 5000);
        let dropped = h.1.load(std::sync::atomic::Ordering::Relaxed) - sent;
        assert!(dropped < 100, "{dropped} entries read and dropped");
    }

    #[test]
    fn scan_chunks_stay_within_max_bytes() {
        let h = history(100, 100);
        let one = h.forward(1, 1, 1)[0].approx_size();
        let chunks: Vec<Chunk> = Scan::new(&h, 1, 100).max_bytes(one * 20).collect();
        let sizes: Vec<usize> = chunks
            .iter()
            .map(|chunk| match chunk {
                Chunk::Entries(entries) => entries.len(),
                other => panic!("nothing is missing: {other:?}"),
            })
            .collect();
        assert!(sizes.iter().all(|&n| (1..=20).contains(&n)), "{sizes:?}");
        assert!(sizes.len() >= 5, "{sizes:?}");
        assert_eq!(sizes.iter().sum::<usize>(), 100, "every seq once");
        // Smaller than one entry still moves on, one entry at a time.
        assert_eq!(Scan::new(&h, 1, 5).max_bytes(1).count(), 5);
    }
}
