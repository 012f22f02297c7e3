//! Walking a segment's records from a snapshot: reads by seq (decoded entries, or records as
//! stored) and the record-head seek of a `since` window, over open segments (records in place) and
//! sealed ones (compressed frames, kept per thread by `frames`).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::sync::Arc;

use super::super::format::{self, Head, Layout, Parsed};
use super::super::frames;
use super::super::records::Records;
use super::{BLOCK_RECORDS, Block, Snapshot, read_record};
use crate::model::LogEntry;

/// How a read of one segment goes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadPlan {
    pub(crate) from: u64,
    pub(crate) to: u64,
    pub(crate) max: usize,
    /// Stop at the first seq that does not follow the one before (forward reads promise no holes).
    pub(crate) contiguous: bool,
}

/// How a read of one segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ended {
    /// It read to the end of the segment (or of the plan's `max`): the next segment follows.
    Through,
    /// It stopped at a hole or past `to`: the caller must not go on into the next segment.
    Stopped,
    /// The file was sealed (replaced) after the snapshot was taken: take a new one.
    Replaced,
}

/// Reads entries with `from <= seq <= to` from a snapshot of `segment`, appending to `out` until
/// `max` are there. A file gone (retention deleted it meanwhile) reads as empty, except for a
/// sealed frame this thread decompressed lately, which is served from memory as it was. The offsets of
/// sealed frames found damaged are added to `damage`: their entries are skipped.
pub(crate) fn read(
    segment: &Snapshot,
    plan: ReadPlan,
    out: &mut impl Taken,
    damage: &mut Vec<u64>,
) -> Ended {
    walk(segment, &mut Take { plan, out }, damage)
}

/// The seq of the first entry timestamped at or after `micros` in the block (or frame) `segment`'s
/// snapshot starts at, without decoding any entry: only record heads are read. `None` if the block
/// holds none (or cannot be read); the caller then starts at the block.
pub(crate) fn first_at_or_after(segment: &Snapshot, micros: i64) -> Option<u64> {
    let mut seek = TimeSeek {
        micros,
        found: None,
        // An open segment's block is at most its next BLOCK_RECORDS entries (fewer when
        // BLOCK_BYTES ends it first: the seek stops at its find before then); a sealed one's is
        // its frame.
        left: match segment.layout {
            Layout::Open => BLOCK_RECORDS,
            Layout::Sealed => u32::MAX,
        },
    };
    let mut first = segment.clone();
    first.frame_count = first.frame_count.min(1);
    walk(&first, &mut seek, &mut Vec::new());
    seek.found
}

/// What a walk over a segment's records does with each.
trait Visit {
    /// The first seq wanted, if records before it are of no use (a read by seq): a walk may then
    /// start at a frame's [`Mark`](frames::Mark) at or before it.
    fn from(&self) -> Option<u64> {
        None
    }
    /// A sealed frame whose first entry is `seq` is next: `Some` ends the walk before reading it.
    fn frame(&mut self, seq: u64) -> Option<Ended>;
    /// An intact record: `Some` ends the walk.
    fn record(&mut self, head: Head, payload: &[u8]) -> Option<Ended>;
}

/// Where a read puts the entries it takes: decoded, or as stored (`Records`, for a reader that
/// writes them out as JSON).
pub(crate) trait Taken {
    /// How many it holds.
    fn count(&self) -> usize;
    /// The seq of the newest.
    fn last(&self) -> Option<u64>;
    /// Takes an intact entry record (one whose payload does not decode may be left out).
    fn take(&mut self, head: Head, payload: &[u8]);
}

impl Taken for Vec<Arc<LogEntry>> {
    fn count(&self) -> usize {
        self.len()
    }

    fn last(&self) -> Option<u64> {
        self.as_slice().last().and_then(|e| e.seq)
    }

    fn take(&mut self, head: Head, payload: &[u8]) {
        if let Some(entry) = format::entry(head, payload) {
            self.push(Arc::new(entry));
        }
    }
}

impl Taken for Records {
    fn count(&self) -> usize {
        self.len()
    }

    fn last(&self) -> Option<u64> {
        self.last_seq()
    }

    fn take(&mut self, head: Head, payload: &[u8]) {
        self.push(head, payload);
    }
}

/// A read: takes the entries the plan wants.
struct Take<'a, T> {
    plan: ReadPlan,
    out: &'a mut T,
}

impl<T: Taken> Visit for Take<'_, T> {
    fn from(&self) -> Option<u64> {
        Some(self.plan.from)
    }

    fn frame(&mut self, seq: u64) -> Option<Ended> {
        if self.out.count() >= self.plan.max {
            return Some(Ended::Through);
        }
        (seq > self.plan.to).then_some(Ended::Stopped)
    }

    fn record(&mut self, head: Head, payload: &[u8]) -> Option<Ended> {
        let (plan, out) = (self.plan, &mut *self.out);
        if out.count() >= plan.max {
            return Some(Ended::Through);
        }
        if !head.kind.is_entry() || head.seq < plan.from {
            return None;
        }
        if head.seq > plan.to {
            return Some(Ended::Stopped);
        }
        let expected = out.last().map(|s| s + 1);
        if plan.contiguous && expected.is_some_and(|e| e != head.seq) {
            return Some(Ended::Stopped);
        }
        out.take(head, payload);
        // Full: stop before reading the next record, only to set it aside.
        (out.count() >= plan.max).then_some(Ended::Through)
    }
}

/// A seek within one block: the first entry at or after a time.
struct TimeSeek {
    micros: i64,
    found: Option<u64>,
    /// Entries left in the block.
    left: u32,
}

impl Visit for TimeSeek {
    fn frame(&mut self, _seq: u64) -> Option<Ended> {
        None
    }

    fn record(&mut self, head: Head, _payload: &[u8]) -> Option<Ended> {
        if !head.kind.is_entry() {
            return None;
        }
        if head.micros >= self.micros {
            self.found = Some(head.seq);
            return Some(Ended::Stopped);
        }
        // At the block's end: its newest time said a hit is in it, so none is left to find.
        self.left -= 1;
        (self.left == 0).then_some(Ended::Stopped)
    }
}

/// Walks the records of a snapshot from its starting point, handing each to `visit`.
fn walk(segment: &Snapshot, visit: &mut impl Visit, damage: &mut Vec<u64>) -> Ended {
    match segment.layout {
        Layout::Open => match open(segment) {
            Ok(file) => walk_open(file, segment, visit),
            Err(ended) => ended,
        },
        Layout::Sealed => walk_sealed(segment, visit, damage),
    }
}

/// The segment's file, past a header that still says what the snapshot expects.
fn open(segment: &Snapshot) -> Result<File, Ended> {
    let Ok(mut file) = File::open(&segment.path) else {
        return Err(Ended::Through);
    };
    let mut header = [0; format::HEADER_LEN as usize];
    if file.read_exact(&mut header).is_err() {
        return Err(Ended::Through);
    }
    match format::check_header(&header) {
        Ok(layout) if layout == segment.layout => Ok(file),
        Ok(_) => Err(Ended::Replaced),
        // Damaged since start: nothing in it can be trusted.
        Err(_) => Err(Ended::Stopped),
    }
}

/// Records in place, from the snapshot's offset.
fn walk_open(file: File, segment: &Snapshot, visit: &mut impl Visit) -> Ended {
    let mut offset = segment.offset;
    let mut reader = BufReader::with_capacity(64 * 1024, file);
    if reader.seek(SeekFrom::Start(offset)).is_err() {
        return Ended::Through;
    }
    let mut buf = Vec::new();
    while offset < segment.len {
        if let Some(&(_, resume)) = segment.damaged.iter().find(|(start, _)| *start == offset) {
            offset = resume;
            if reader.seek(SeekFrom::Start(offset)).is_err() {
                return Ended::Through;
            }
            continue;
        }
        let Some(len) = read_record(&mut reader, &mut buf, segment.len - offset) else {
            // Damage that appeared after start: serve what came before it.
            return Ended::Stopped;
        };
        let Parsed::Record { head, len } = format::parse(&buf[..len]) else {
            return Ended::Stopped;
        };
        offset += len as u64;
        if let Some(ended) = visit.record(head, format::payload(&buf, len)) {
            return ended;
        }
    }
    Ended::Through
}

/// Compressed frames, from the snapshot's first: each is checked and decompressed on its own, so
/// damage costs the entries of one frame and the walk goes on after it. A frame this thread
/// decompressed lately is taken as it was (`frames`), and the file is opened only for one it did
/// not: a sealed file never changes.
fn walk_sealed(segment: &Snapshot, visit: &mut impl Visit, damage: &mut Vec<u64>) -> Ended {
    let mut file = None;
    let mut compressed = Vec::new();
    let end = segment.first + segment.frame_count;
    for frame in &segment.frames[segment.first..end] {
        if let Some(ended) = visit.frame(frame.seq) {
            return ended;
        }
        let mut kept = match frames::take(&segment.path, frame.offset, frame.crc) {
            Some(kept) => kept,
            None => {
                if file.is_none() {
                    file = match open(segment) {
                        Ok(opened) => Some(opened),
                        Err(ended) => return ended,
                    };
                }
                let Some(file) = file.as_mut() else {
                    return Ended::Through;
                };
                let mut records = frames::buffer();
                compressed.resize(frame.len as usize, 0);
                let read = file
                    .seek(SeekFrom::Start(frame.offset))
                    .and_then(|_| file.read_exact(&mut compressed));
                if read.is_err() || !format::unframe(&compressed, frame.crc, &mut records) {
                    damage.push(frame.offset);
                    continue;
                }
                frames::Frame {
                    records,
                    mark: None,
                }
            }
        };
        let ended = visit_frame(&mut kept, frame, visit, damage);
        frames::put(&segment.path, frame.offset, frame.crc, kept);
        if let Some(ended) = ended {
            return ended;
        }
    }
    Ended::Through
}

/// Hands each record of a decompressed frame to `visit`. Starts at the frame's mark when the visitor wants nothing before it, and leaves the mark where
/// the walk stopped.
fn visit_frame(
    kept: &mut frames::Frame,
    frame: &Block,
    visit: &mut impl Visit,
    damage: &mut Vec<u64>,
) -> Option<Ended> {
    let records = &kept.records;
    let mut at = match (kept.mark, visit.from()) {
        (Some((seq, at)), Some(from)) if seq <= from => at,
        _ => 0,
    };
    while at < records.len() {
        let Parsed::Record { head, len } = format::parse(&records[at..]) else {
            damage.push(frame.offset);
            return None;
        };
        if let Some(ended) = visit.record(head, format::payload(&records[at..], len)) {
            kept.mark = Some((head.seq, at));
            return Some(ended);
        }
        at += len;
    }
    None
}
