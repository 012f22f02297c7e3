//! Entries read from disk as they are stored, not decoded: what a WebSocket backfill sends.
//!
//! A viewer's backfill turns every entry it reads into JSON for its frame and forgets it. Decoding
//! each into a [`LogEntry`] first cost more CPU than anything else in a replay from disk, so the
//! records are handed over as read (their heads, and their payloads copied out of the segment or
//! its decompressed frame), and the reader filters on their [`Fields`] and writes the JSON from
//! them. Records of formats 1-2 (an entry as JSON) are decoded as before.

use super::format::{self, Head, Kind};
use super::packed::{self, Fields};
use crate::model::LogEntry;

/// Bytes each record costs besides its payload: its line in `records`.
const RECORD_OVERHEAD: usize = std::mem::size_of::<(Head, u32, u32)>();

/// Intact entry records of consecutive reads, oldest first.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Records {
    payloads: Vec<u8>,
    /// Each record's head and the range of its payload in `payloads`.
    records: Vec<(Head, u32, u32)>,
}

/// One stored entry of [`Records`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stored<'a> {
    head: Head,
    payload: &'a [u8],
}

impl Records {
    /// Adds an intact entry record.
    pub(crate) fn push(&mut self, head: Head, payload: &[u8]) {
        let start = self.payloads.len();
        self.payloads.extend_from_slice(payload);
        let offset = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        self.records
            .push((head, offset(start), offset(self.payloads.len())));
    }

    /// How many records it holds.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether it holds none.
    pub(crate) fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The newest seq held.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.records.last().map(|(head, _, _)| head.seq)
    }

    /// The oldest seq held.
    pub(crate) fn first_seq(&self) -> Option<u64> {
        self.records.first().map(|(head, _, _)| head.seq)
    }

    /// What each record costs in memory (its payload and its line), oldest first.
    pub(crate) fn sizes(&self) -> impl ExactSizeIterator<Item = usize> + '_ {
        self.records
            .iter()
            .map(|&(_, start, end)| (end - start) as usize + RECORD_OVERHEAD)
    }

    /// The memory held: what a reader holding these while it waits on a slow socket is charged.
    pub(crate) fn bytes(&self) -> usize {
        self.payloads.capacity() + self.records.capacity() * RECORD_OVERHEAD
    }

    /// Keeps the oldest `n`.
    pub(crate) fn truncate(&mut self, n: usize) {
        self.records.truncate(n);
        let end = self.records.last().map_or(0, |&(_, _, end)| end as usize);
        self.payloads.truncate(end);
    }

    /// The records, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = Stored<'_>> {
        self.records.iter().map(|&(head, start, end)| Stored {
            head,
            payload: &self.payloads[start as usize..end as usize],
        })
    }
}

impl<'a> Stored<'a> {
    /// The entry's seq.
    pub(crate) fn seq(&self) -> u64 {
        self.head.seq
    }

    /// Its fields in place (format 3's packed entries); `None` for an entry stored as JSON, or a
    /// payload that does not decode ([`Stored::entry`] tells which).
    pub(crate) fn fields(&self) -> Option<Fields<'a>> {
        match self.head.kind {
            Kind::Packed => packed::fields(self.payload, self.head.seq, self.head.micros),
            Kind::Entry | Kind::Lease | Kind::Unwritten => None,
        }
    }

    /// The entry, decoded; `None` if its payload does not decode (a reader of entries skips it).
    pub(crate) fn entry(&self) -> Option<LogEntry> {
        format::entry(self.head, self.payload)
    }
}
