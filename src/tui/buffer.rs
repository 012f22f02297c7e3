//! The scrollback: a bounded ring of rows and, kept in step with it, the index of the rows the view
//! shows.
//!
//! Every row gets a [`RowId`] that never changes and never repeats, so the view can hold on to "the
//! selected row" and "the top row" while rows arrive at one end and are evicted at the other. The index
//! is a sorted deque of ids: arrivals that pass the filter are pushed at the back, evictions pop the
//! front, and a position is found by binary search. A filter change is the only full pass, and it is
//! split across threads because it is the one operation whose cost grows with the buffer.

use std::collections::VecDeque;

/// A row's permanent number: the count of rows pushed before it.
pub(crate) type RowId = u64;

/// Below this many rows a rebuild runs on one thread: spawning would cost more than it saves.
const PARALLEL_THRESHOLD: usize = 64 * 1024;

/// A ring of at most `capacity` rows plus the ids of those the view shows.
#[derive(Debug)]
pub(crate) struct Buffer<T> {
    rows: VecDeque<T>,
    /// The id of `rows[0]`.
    first: RowId,
    capacity: usize,
    /// Ids of shown rows, ascending.
    index: VecDeque<RowId>,
}

/// A row that left the ring, and whether the view was showing it.
#[derive(Debug)]
pub(crate) struct Evicted<T> {
    pub(crate) row: T,
    pub(crate) shown: bool,
}

impl<T> Buffer<T> {
    /// An empty buffer holding at most `capacity` rows (at least one).
    pub(crate) fn new(capacity: usize) -> Self {
        Buffer {
            rows: VecDeque::new(),
            first: 0,
            capacity: capacity.max(1),
            index: VecDeque::new(),
        }
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// The id of the oldest row held (the next id when empty): rows before it were evicted.
    pub(crate) fn first_id(&self) -> RowId {
        self.first
    }

    /// The id the next pushed row will get.
    pub(crate) fn next_id(&self) -> RowId {
        self.first + self.rows.len() as RowId
    }

    /// Appends a row; `shown` says whether it passes the view's filter. Returns the row evicted to make
    /// room, if any.
    pub(crate) fn push(&mut self, row: T, shown: bool) -> Option<Evicted<T>> {
        let evicted = (self.rows.len() >= self.capacity)
            .then(|| self.evict_front())
            .flatten();
        let id = self.next_id();
        self.rows.push_back(row);
        if shown {
            self.index.push_back(id);
        }
        evicted
    }

    /// Changes the capacity, evicting the oldest rows that no longer fit.
    pub(crate) fn set_capacity(&mut self, capacity: usize) -> Vec<Evicted<T>> {
        self.capacity = capacity.max(1);
        let excess = self.rows.len().saturating_sub(self.capacity);
        (0..excess).filter_map(|_| self.evict_front()).collect()
    }

    fn evict_front(&mut self) -> Option<Evicted<T>> {
        let row = self.rows.pop_front()?;
        let shown = self.index.front() == Some(&self.first);
        if shown {
            self.index.pop_front();
        }
        self.first += 1;
        Some(Evicted { row, shown })
    }

    /// Drops every row. Ids keep counting up, so nothing held from before can alias a new row.
    pub(crate) fn clear(&mut self) {
        self.first = self.next_id();
        self.rows.clear();
        self.index.clear();
    }

    /// The row with this id, if it is still in the ring.
    pub(crate) fn get(&self, id: RowId) -> Option<&T> {
        let offset = id.checked_sub(self.first)?;
        self.rows.get(usize::try_from(offset).ok()?)
    }

    /// Every row held, oldest first, shown or not.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &T> {
        self.rows.iter()
    }

    /// How many rows the view shows.
    pub(crate) fn shown_len(&self) -> usize {
        self.index.len()
    }

    /// The id of the shown row at `position` (0 is the oldest shown).
    pub(crate) fn shown_id(&self, position: usize) -> Option<RowId> {
        self.index.get(position).copied()
    }

    /// The position of `id` among the shown rows, or where it would be: the first shown row at or
    /// after it.
    pub(crate) fn position(&self, id: RowId) -> usize {
        self.index.partition_point(|&shown| shown < id)
    }

    /// Whether the row with this id is shown.
    pub(crate) fn is_shown(&self, id: RowId) -> bool {
        self.index.binary_search(&id).is_ok()
    }

    /// The newest shown row.
    pub(crate) fn last_shown(&self) -> Option<RowId> {
        self.index.back().copied()
    }
}

impl<T: Sync> Buffer<T> {
    /// Recomputes the index with a new filter: the classifier returns `None` to hide a row and
    /// `Some(marked)` to show it. Returns how many shown rows were marked (search matches), counted
    /// in the same pass so a search costs one scan, not two.
    ///
    /// Each thread makes its own classifier with `make`: a `Regex` shared between threads makes all
    /// but one of them queue for its scratch space, and a clone per thread avoids that.
    pub(crate) fn rebuild<M, F>(&mut self, make: M) -> usize
    where
        M: Fn() -> F + Sync,
        F: Fn(&T) -> Option<bool>,
    {
        let (front, back) = self.rows.as_slices();
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let mut parts: Vec<(RowId, &[T])> = Vec::new();
        let chunk = if self.rows.len() < PARALLEL_THRESHOLD || threads == 1 {
            usize::MAX
        } else {
            self.rows.len().div_ceil(threads)
        };
        let mut id = self.first;
        for slice in [front, back] {
            for part in slice.chunks(chunk.min(slice.len().max(1))) {
                parts.push((id, part));
                id += part.len() as RowId;
            }
        }
        let scan = |(start, rows): (RowId, &[T])| {
            let classify = make();
            let mut ids = Vec::new();
            let mut marked = 0;
            for (offset, row) in rows.iter().enumerate() {
                if let Some(mark) = classify(row) {
                    ids.push(start + offset as RowId);
                    marked += usize::from(mark);
                }
            }
            (ids, marked)
        };
        let results: Vec<(Vec<RowId>, usize)> = if parts.len() <= 1 {
            parts.into_iter().map(scan).collect()
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| scope.spawn(move || scan(part)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a filter pass does not panic"))
                    .collect()
            })
        };
        self.index.clear();
        let mut marked = 0;
        for (ids, count) in results {
            self.index.extend(ids);
            marked += count;
        }
        marked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn even(n: &u64) -> Option<bool> {
        n.is_multiple_of(2).then_some(n.is_multiple_of(4))
    }

    #[test]
    fn eviction_keeps_the_index_in_step() {
        let mut buffer = Buffer::new(4);
        let mut evicted = Vec::new();
        for n in 0..10u64 {
            if let Some(e) = buffer.push(n, n % 2 == 0) {
                evicted.push((e.row, e.shown));
            }
        }
        assert_eq!(buffer.len(), 4);
        assert_eq!(evicted.len(), 6);
        assert_eq!(evicted[0], (0, true));
        assert_eq!(evicted[1], (1, false));
        // Rows 6..=9 remain; 6 and 8 are shown.
        assert_eq!(buffer.shown_len(), 2);
        assert_eq!(buffer.shown_id(0), Some(6));
        assert_eq!(buffer.get(6), Some(&6));
        assert_eq!(buffer.get(5), None);
        assert_eq!(buffer.position(7), 1);
        assert!(buffer.is_shown(8) && !buffer.is_shown(9));
    }

    #[test]
    fn rebuild_matches_a_fresh_filter_across_the_ring_seam() {
        // Wrap the ring so its storage is in two slices, and go past the parallel threshold.
        let capacity = PARALLEL_THRESHOLD + 1000;
        let mut buffer = Buffer::new(capacity);
        for n in 0..(capacity as u64 + 12_345) {
            buffer.push(n, true);
        }
        let marked = buffer.rebuild(|| even);
        let first = 12_345u64;
        let want: Vec<u64> = (first..first + capacity as u64)
            .filter(|n| n % 2 == 0)
            .collect();
        assert_eq!(buffer.shown_len(), want.len());
        assert!((0..want.len()).all(|p| buffer.shown_id(p) == Some(want[p])));
        assert_eq!(marked, want.iter().filter(|n| *n % 4 == 0).count());
    }

    #[test]
    fn shrinking_evicts_oldest_and_clear_keeps_ids_unique() {
        let mut buffer = Buffer::new(10);
        for n in 0..10u64 {
            buffer.push(n, true);
        }
        let evicted = buffer.set_capacity(3);
        assert_eq!(
            evicted.iter().map(|e| e.row).collect::<Vec<_>>(),
            (0..7).collect::<Vec<_>>()
        );
        assert_eq!(buffer.shown_id(0), Some(7));
        buffer.clear();
        assert_eq!(buffer.len(), 0);
        assert_eq!(buffer.last_shown(), None);
        buffer.push(99, true);
        assert_eq!(buffer.last_shown(), Some(10));
    }
}
