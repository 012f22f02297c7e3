//! One segment file: what it holds (first and last seq, time range, a sparse index) and how its
//! records are read back.
//!
//! The index is kept in memory, built by recovery's scan at start and extended by the writer as it
//! appends: one [`Block`] per [`BLOCK_RECORDS`] entries, with the block's offset, first seq and
//! newest timestamp. Resume by seq and a `since` window are binary searches over segments and then
//! over blocks; reading then walks at most one block before the first wanted record.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::format::{self, FRAME_LEN, Head, Kind, Parsed};
use crate::model::LogEntry;

/// Entries per index block.
pub(crate) const BLOCK_RECORDS: u32 = 128;

/// A point in a segment a read can start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Block {
    /// Seq of the block's first entry.
    pub(crate) seq: u64,
    /// Offset of the block's first record.
    pub(crate) offset: u64,
    /// Newest timestamp in the block (µs): timestamps come from apps and need not grow with seq.
    pub(crate) max_micros: i64,
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
    pub(crate) blocks: Vec<Block>,
    /// Damaged spans found at start (`start`, `resume`): readers jump over them.
    pub(crate) damaged: Vec<(u64, u64)>,
    /// When it was last written: retention by age goes by it.
    pub(crate) modified: SystemTime,
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
            blocks: Vec::new(),
            damaged: Vec::new(),
            modified: SystemTime::now(),
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
        if head.kind != Kind::Entry {
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
        if self.in_block == 0 || self.in_block >= BLOCK_RECORDS {
            self.blocks.push(Block {
                seq: head.seq,
                offset,
                max_micros: head.micros,
            });
            self.in_block = 0;
        }
        self.in_block += 1;
        if let Some(block) = self.blocks.last_mut() {
            block.max_micros = block.max_micros.max(head.micros);
        }
    }

    /// Where a read of seqs from `seq` on starts: the last block starting at or before it.
    pub(crate) fn offset_for(&self, seq: u64) -> u64 {
        let i = self.blocks.partition_point(|b| b.seq <= seq);
        i.checked_sub(1)
            .map_or(format::HEADER_LEN, |i| self.blocks[i].offset)
    }

    /// The first seq that may be timestamped at or after `micros`, if this segment holds one.
    pub(crate) fn seek_micros(&self, micros: i64) -> Option<u64> {
        if self.max_micros < micros {
            return None;
        }
        self.blocks
            .iter()
            .find(|b| b.max_micros >= micros)
            .map(|b| b.seq)
    }
}

/// What a read needs of a segment, taken under the catalog's lock and read without it.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    path: PathBuf,
    len: u64,
    offset: u64,
    damaged: Vec<(u64, u64)>,
    /// The newest seq in it when taken.
    pub(crate) last_seq: u64,
}

impl Segment {
    /// A read of this segment from seq `from` on, if it holds entries.
    pub(crate) fn snapshot(&self, from: u64) -> Option<Snapshot> {
        Some(Snapshot {
            path: self.path.clone(),
            len: self.len,
            offset: self.offset_for(from),
            damaged: self.damaged.clone(),
            last_seq: self.last_seq?,
        })
    }
}

/// How a read of one segment goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadPlan {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) max: usize,
    /// Stop at the first seq that does not follow the one before (forward reads promise no holes).
    pub(crate) contiguous: bool,
}

/// Reads entries with `from <= seq <= to` from a snapshot of `segment`, appending to `out` until
/// `max` are there. Returns whether the read stopped at a hole (so the caller must not go on into
/// the next segment). A file gone (retention deleted it meanwhile) reads as empty.
pub(crate) fn read(segment: &Snapshot, plan: ReadPlan, out: &mut Vec<Arc<LogEntry>>) -> bool {
    let Ok(file) = File::open(&segment.path) else {
        return false;
    };
    let mut offset = segment.offset;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    if reader.seek(SeekFrom::Start(offset)).is_err() {
        return false;
    }
    let mut buf = Vec::new();
    while offset < segment.len && out.len() < plan.max {
        if let Some(&(_, resume)) = segment.damaged.iter().find(|(start, _)| *start == offset) {
            offset = resume;
            if reader.seek(SeekFrom::Start(offset)).is_err() {
                return false;
            }
            continue;
        }
        let Some(len) = read_record(&mut reader, &mut buf, segment.len - offset) else {
            // Damage that appeared after start: serve what came before it.
            return true;
        };
        let Parsed::Record { head, len } = format::parse(&buf[..len]) else {
            return true;
        };
        offset += len as u64;
        if head.kind != Kind::Entry || head.seq < plan.from {
            continue;
        }
        if head.seq > plan.to {
            return true;
        }
        let expected = out.last().and_then(|e| e.seq).map(|s| s + 1);
        if plan.contiguous && expected.is_some_and(|e| e != head.seq) {
            return true;
        }
        if let Ok(mut entry) = serde_json::from_slice::<LogEntry>(format::payload(&buf, len)) {
            entry.seq = Some(head.seq);
            out.push(Arc::new(entry));
        }
    }
    false
}

/// Reads one framed record into `buf`; `None` if it does not fit in the `left` bytes or the file.
fn read_record(reader: &mut impl Read, buf: &mut Vec<u8>, left: u64) -> Option<usize> {
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
