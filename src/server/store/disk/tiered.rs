//! The history a gateway reads when there is a data dir: the memory ring first, as the hot cache of
//! the newest entries, then the disk for everything older.
//!
//! The ring always holds the newest stamped seqs without holes, so the split is one seq: reads at or
//! above the ring's oldest come from memory, reads below it from disk. Entries the writer has not
//! reached yet are still in the ring; entries the ring has let go of were written long before (or
//! were counted as not written, and read as a hole).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Catalog;
use super::records::Records;
use crate::model::LogEntry;
use crate::server::store::history::{Bounds, History};
use crate::server::store::memory::MemoryHistory;

/// Memory in front of disk.
#[derive(Debug)]
pub(crate) struct Tiered {
    memory: Arc<MemoryHistory>,
    disk: Arc<Catalog>,
}

impl Tiered {
    pub(crate) fn new(memory: Arc<MemoryHistory>, disk: Arc<Catalog>) -> Tiered {
        Tiered { memory, disk }
    }

    /// The memory ring's bounds widened by what the disk holds further back.
    pub(crate) fn widen(&self, memory: Bounds) -> Bounds {
        let disk = self.disk.bounds();
        match (disk.oldest, memory.oldest) {
            (Some(d), Some(m)) if m <= d => memory,
            (Some(_), _) => Bounds {
                oldest: disk.oldest,
                oldest_time: disk.oldest_time,
                newest: memory.newest.max(disk.newest),
            },
            (None, _) => memory,
        }
    }

    fn memory_oldest(&self) -> Option<u64> {
        self.memory.lock().ring.oldest_seq()
    }
}

impl History for Tiered {
    fn identity(&self) -> &str {
        self.disk.identity()
    }

    fn bounds(&self) -> Bounds {
        let memory = self.memory.lock().bounds();
        self.widen(memory)
    }

    fn forward(&self, from: u64, to: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let cut = self.memory_oldest();
        if let Some(cut) = cut
            && from >= cut
        {
            return self.memory.forward(from, to, max);
        }
        let disk_to = cut.map_or(to, |cut| to.min(cut - 1));
        let from_disk = self.disk.forward(from, disk_to, max, true);
        if !from_disk.is_empty() {
            return from_disk;
        }
        // Nothing on disk before the ring: the scan reports the hole and reads on from the ring.
        match cut {
            Some(cut) if to >= cut => self.memory.forward(cut, to, max),
            _ => Vec::new(),
        }
    }

    fn forward_stored(&self, from: u64, to: u64, max: usize) -> Option<Records> {
        // Only what is older than the ring, and only when the disk has the first of it: the rest
        // (the ring, holes) is for `forward`, which reads and reports them as it always has.
        let cut = self.memory_oldest();
        if cut.is_some_and(|cut| from >= cut) {
            return None;
        }
        let disk_to = cut.map_or(to, |cut| to.min(cut - 1));
        let records = self.disk.forward_records(from, disk_to, max, true);
        (!records.is_empty()).then_some(records)
    }

    fn backward(&self, before: u64, max: usize) -> Vec<Arc<LogEntry>> {
        let cut = self.memory_oldest();
        let mut out = match cut {
            Some(cut) if before > cut => self.memory.backward(before, max),
            _ => Vec::new(),
        };
        if out.len() < max {
            let below = cut.map_or(before, |cut| before.min(cut));
            out.extend(self.disk.backward(below, max - out.len()));
        }
        out
    }

    fn seek_time(&self, time: DateTime<Utc>) -> Option<u64> {
        self.disk
            .seek_time(time)
            .or_else(|| self.disk.bounds().newest.map(|n| n + 1))
    }

    fn seek_until(&self, time: DateTime<Utc>) -> Option<u64> {
        self.disk.seek_until(time)
    }

    fn unwritten(&self, from: u64, to: u64) -> Vec<(u64, u64)> {
        self.disk.unwritten(from, to)
    }
}
