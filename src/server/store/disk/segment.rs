//! One segment file: what it holds (first and last seq, time range, a sparse index) and where a
//! read of it starts (its records are walked by `walk`).
//!
//! The index is kept in memory. For an open segment (the one being written, and those of format 1)
//! it is built by recovery's scan at start and extended by the writer as it appends: one
//! [`Block`] per [`BLOCK_RECORDS`] entries or [`BLOCK_BYTES`] of records, with the block's offset,
//! first seq and newest timestamp.
//! A sealed segment's blocks are its compressed frames, read from its index at start (`sealed`).
//! Resume by seq and a `since` window are binary searches over blocks; reading then walks at most
//! one block before the first wanted record.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::format::{self, FRAME_LEN, Head, Layout};

pub(crate) mod walk;

/// Entries per index block.
pub(crate) const BLOCK_RECORDS: u32 = 128;

/// Bytes of records per index block at most (the first record of a block may be larger): a read
/// that starts inside a block of large entries walks at most this much before its first record,
/// as a sealed segment's frames (about as large) bound it.
const BLOCK_BYTES: u64 = 64 * 1024;

/// A point in a segment a read can start from: in an open segment the offset of a record, in a
/// sealed one a compressed frame (`offset`, `len`, `crc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    /// Seq of the block's first entry.
    pub(crate) seq: u64,
    /// Offset of the block's first record, or of its frame.
    pub(crate) offset: u64,
    /// Bytes of a sealed segment's frame (0 in an open segment).
    pub(crate) len: u32,
    /// CRC-32C of the frame's bytes (sealed segments).
    pub(crate) crc: u32,
    /// Newest timestamp in the block (µs): timestamps come from apps and need not grow with seq.
    pub(crate) max_micros: i64,
    /// Newest timestamp in this block and every one before it in the segment: it never decreases,
    /// so the first block reaching a time is a binary search.
    pub(crate) reach_micros: i64,
}

/// What one segment file holds.
#[derive(Debug, Clone)]
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    /// Bytes of intact records (and header) from the start: a reader never reads past it.
    pub(crate) len: u64,
    pub(crate) first_seq: Option<u64>,
    pub(crate) last_seq: Option<u64>,
    pub(crate) min_micros: i64,
    pub(crate) max_micros: i64,
    /// The first entry's timestamp (µs).
    pub(crate) first_micros: i64,
    pub(crate) entries: u64,
    /// Shared with reads of a sealed segment (whose blocks never change), so a read's snapshot
    /// does not copy the index of thousands of frames.
    pub(crate) blocks: Arc<Vec<Block>>,
    /// Damaged spans found at start (`start`, `resume`): readers jump over them.
    pub(crate) damaged: Vec<(u64, u64)>,
    /// When it was last written: retention by age goes by it.
    pub(crate) modified: SystemTime,
    /// Compressed, with its index read from the file (`sealed`); never written again.
    pub(crate) sealed: bool,
    /// Entries in the newest block so far.
    in_block: u32,
}

impl Segment {
    /// An empty segment at `path` whose records start at `len`.
    pub(crate) fn new(path: PathBuf, len: u64) -> Segment {
        Segment {
            path,
            len,
            first_seq: None,
            last_seq: None,
            min_micros: i64::MAX,
            max_micros: i64::MIN,
            first_micros: 0,
            entries: 0,
            blocks: Arc::new(Vec::new()),
            damaged: Vec::new(),
            modified: SystemTime::now(),
            sealed: false,
            in_block: 0,
        }
    }

    /// The file name of segment `id`.
    pub(crate) fn file_name(id: u64) -> String {
        format!("{id:020}.seg")
    }

    /// The segment number a file name stands for, if it is a segment's.
    pub(crate) fn id_of(name: &str) -> Option<u64> {
        name.strip_suffix(".seg")?.parse().ok()
    }

    /// Takes note of an intact record at `offset` (the index grows with entries).
    pub(crate) fn observe(&mut self, head: Head, offset: u64, len: usize) {
        self.len = self.len.max(offset + len as u64);
        if !head.kind.is_entry() {
            return;
        }
        if self.first_seq.is_none() {
            self.first_seq = Some(head.seq);
            self.first_micros = head.micros;
        }
        self.last_seq = Some(head.seq);
        self.min_micros = self.min_micros.min(head.micros);
        self.max_micros = self.max_micros.max(head.micros);
        self.entries += 1;
        let block_bytes = self
            .blocks
            .last()
            .map_or(0, |b| offset.saturating_sub(b.offset));
        if self.in_block == 0 || self.in_block >= BLOCK_RECORDS || block_bytes >= BLOCK_BYTES {
            let reach = self.blocks.last().map_or(i64::MIN, |b| b.reach_micros);
            // Only the writer extends an open segment's blocks, and no read shares them: no copy.
            Arc::make_mut(&mut self.blocks).push(Block {
                seq: head.seq,
                offset,
                len: 0,
                crc: 0,
                max_micros: head.micros,
                reach_micros: reach.max(head.micros),
            });
            self.in_block = 0;
        }
        self.in_block += 1;
        if let Some(block) = Arc::make_mut(&mut self.blocks).last_mut() {
            block.max_micros = block.max_micros.max(head.micros);
            block.reach_micros = block.reach_micros.max(head.micros);
        }
    }

    /// The block a read of seqs from `seq` on starts in: the last starting at or before it.
    fn block_for(&self, seq: u64) -> Option<usize> {
        self.blocks.partition_point(|b| b.seq <= seq).checked_sub(1)
    }

    /// The first block that may hold an entry timestamped at or after `micros`, if this segment
    /// holds one: every block before it is older. Its newest time is at or after `micros`.
    pub(crate) fn seek_micros(&self, micros: i64) -> Option<&Block> {
        if self.max_micros < micros {
            return None;
        }
        let i = self.blocks.partition_point(|b| b.reach_micros < micros);
        self.blocks.get(i)
    }
}

/// What a read needs of a segment, taken under the catalog's lock and read without it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    path: PathBuf,
    len: u64,
    offset: u64,
    damaged: Vec<(u64, u64)>,
    /// A sealed segment's frames (empty for an open segment); the read starts at `first`.
    frames: Arc<Vec<Block>>,
    first: usize,
    /// How many frames from `first` on the read may go through.
    frame_count: usize,
    layout: Layout,
    /// The newest seq in it when taken.
    pub(crate) last_seq: u64,
}

impl Snapshot {
    /// The segment's file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Segment {
    /// A read of this segment from seq `from` on, if it holds entries.
    pub(crate) fn snapshot(&self, from: u64) -> Option<Snapshot> {
        let block = self.block_for(from);
        let (layout, frames, offset) = if self.sealed {
            (Layout::Sealed, Arc::clone(&self.blocks), 0)
        } else {
            let offset = block.map_or(format::HEADER_LEN, |i| self.blocks[i].offset);
            (Layout::Open, Arc::default(), offset)
        };
        let first = block.unwrap_or(0);
        Some(Snapshot {
            path: self.path.clone(),
            len: self.len,
            offset,
            damaged: self.damaged.clone(),
            frame_count: frames.len().saturating_sub(first),
            frames,
            first,
            layout,
            last_seq: self.last_seq?,
        })
    }
}

/// Reads one framed record into `buf`; `None` if it does not fit in the `left` bytes or the file.
pub(crate) fn read_record(reader: &mut impl Read, buf: &mut Vec<u8>, left: u64) -> Option<usize> {
    buf.resize(FRAME_LEN, 0);
    reader.read_exact(buf).ok()?;
    let len = format::announced_len(buf)?;
    if len as u64 > left {
        return None;
    }
    buf.resize(len, 0);
    reader.read_exact(&mut buf[FRAME_LEN..]).ok()?;
    Some(len)
}

/// The segments in `dir`, by number.
pub(crate) fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        if let Some(id) = item.file_name().to_str().and_then(Segment::id_of) {
            found.push((id, item.path()));
        }
    }
    found.sort_unstable_by_key(|(id, _)| *id);
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::store::disk::format::Kind;

    #[test]
    fn an_open_segments_index_has_a_block_every_64_kib_of_large_records() {
        let mut segment = Segment::new(PathBuf::from("1.seg"), 0);
        let record = 10 * 1024;
        for seq in 1..=100u64 {
            let head = Head {
                kind: Kind::Packed,
                seq,
                micros: i64::try_from(seq).unwrap(),
            };
            segment.observe(head, (seq - 1) * record, record as usize);
        }
        let starts: Vec<u64> = segment.blocks.iter().map(|b| b.offset).collect();
        // By count alone (128 entries a block) the 100 records would be one block.
        assert!(
            starts.len() as u64 >= 100 * record / BLOCK_BYTES,
            "{starts:?}"
        );
        // A block ends with the record that crosses 64 KiB.
        assert!(
            starts
                .windows(2)
                .all(|w| w[1] - w[0] <= BLOCK_BYTES + record),
            "{starts:?}"
        );
    }
}
