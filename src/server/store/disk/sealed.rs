//! A sealed segment's file: the entries of a full segment compressed in independent zstd frames,
//! then an index, written once and never changed (docs/storage.md).
//!
//! ```text
//!   header (16 bytes)   "VGSEALED" | version u32 LE | reserved u32 (0)
//!   frames              zstd frames back to back, each holding whole entry records (framed as in
//!                       an open segment, CRC-32C included), about FRAME_TARGET bytes before
//!                       compression
//!   index               summary | ranges lost at restarts | one line per frame
//!   trailer (16 bytes)  index length u32 LE | CRC-32C of the index u32 LE | "VGSLINDX"
//! ```
//!
//! Start-up reads the header, the trailer and the index, never the frames, so a restart costs the
//! same however much is stored. Frames are independent so that a read decompresses only those it
//! needs, and damage costs the entries of one frame.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use super::format::{self, Head, Kind};
use super::segment::{Block, Segment};

/// Bytes of records gathered into one frame before it is compressed: big enough for zstd to find
/// the repetition in log entries, small enough that a seek decompresses little it does not need (a
/// window's first entry costs about one frame's decompression; 64 KiB frames made that 4x the
/// time of SQLite's indexed `LIMIT 1`, docs/benchmarks.md).
pub(crate) const FRAME_TARGET: usize = 16 * 1024;
const TRAILER_LEN: u64 = 16;
const INDEX_MAGIC: [u8; 8] = *b"VGSLINDX";
/// first seq, last seq, first time, oldest time, newest time, entries, lease (8 bytes each), then
/// the counts of lost ranges and of frames (4 bytes each).
const SUMMARY_LEN: usize = 7 * 8 + 2 * 4;
const RANGE_LEN: usize = 16;
/// first seq u64 | offset u64 | length u32 | CRC-32C u32 | newest time i64.
const FRAME_LINE_LEN: usize = 32;

/// What a sealed segment's index says.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The segment, its blocks being the frames.
    pub(crate) segment: Segment,
    /// The last lease recorded in it (0 if none).
    pub(crate) lease: u64,
    /// Ranges lost at restarts, as recorded.
    pub(crate) unwritten: Vec<(u64, u64)>,
}

/// Reads a sealed segment's index (`file` is past its header). The error says what is wrong.
pub(crate) fn load(path: &Path, file: &mut File) -> Result<Loaded, String> {
    let file_len = file.metadata().map_err(|e| e.to_string())?.len();
    if file_len < format::HEADER_LEN + TRAILER_LEN {
        return Err("shorter than a header and a trailer".into());
    }
    let mut trailer = [0; TRAILER_LEN as usize];
    file.seek(SeekFrom::Start(file_len - TRAILER_LEN))
        .and_then(|_| file.read_exact(&mut trailer))
        .map_err(|e| e.to_string())?;
    if trailer[8..] != INDEX_MAGIC {
        return Err("no index trailer at its end".into());
    }
    let index_len = u64::from(u32_at(&trailer, 0));
    let crc = u32_at(&trailer, 4);
    let data_end = (file_len - TRAILER_LEN)
        .checked_sub(index_len)
        .filter(|&end| end >= format::HEADER_LEN)
        .ok_or("its index length is wrong")?;
    let mut index = vec![0; usize::try_from(index_len).map_err(|e| e.to_string())?];
    file.seek(SeekFrom::Start(data_end))
        .and_then(|_| file.read_exact(&mut index))
        .map_err(|e| e.to_string())?;
    if crc32c::crc32c(&index) != crc {
        return Err("its index fails its checksum".into());
    }
    let mut loaded = parse(path, &index).ok_or("its index is malformed")?;
    loaded.segment.len = file_len;
    if let Ok(modified) = file.metadata().and_then(|m| m.modified()) {
        loaded.segment.modified = modified;
    }
    if loaded
        .segment
        .blocks
        .iter()
        .any(|b| b.offset + u64::from(b.len) > data_end)
    {
        return Err("its index points past its frames".into());
    }
    Ok(loaded)
}

fn parse(path: &Path, index: &[u8]) -> Option<Loaded> {
    let summary = index.get(..SUMMARY_LEN)?;
    let u = |i: usize| u64_at(summary, i * 8);
    let i = |n: usize| u(n).cast_signed();
    let ranges = u32_at(summary, 56) as usize;
    let frames = u32_at(summary, 60) as usize;
    let expected = SUMMARY_LEN + ranges * RANGE_LEN + frames * FRAME_LINE_LEN;
    if index.len() != expected {
        return None;
    }
    let mut segment = Segment::new(path.to_owned(), 0);
    let first = u(0);
    segment.first_seq = (first != 0).then_some(first);
    segment.last_seq = segment.first_seq.map(|_| u(1));
    segment.first_micros = i(2);
    segment.min_micros = i(3);
    segment.max_micros = i(4);
    segment.entries = u(5);
    segment.sealed = true;
    let mut at = SUMMARY_LEN;
    let unwritten = (0..ranges)
        .map(|_| {
            let range = (u64_at(index, at), u64_at(index, at + 8));
            at += RANGE_LEN;
            range
        })
        .collect();
    let mut reach = i64::MIN;
    let mut blocks = Vec::with_capacity(frames);
    for _ in 0..frames {
        let max_micros = u64_at(index, at + 24).cast_signed();
        reach = reach.max(max_micros);
        blocks.push(Block {
            seq: u64_at(index, at),
            offset: u64_at(index, at + 8),
            len: u32_at(index, at + 16),
            crc: u32_at(index, at + 20),
            max_micros,
            reach_micros: reach,
        });
        at += FRAME_LINE_LEN;
    }
    segment.blocks = std::sync::Arc::new(blocks);
    Some(Loaded {
        segment,
        lease: u(6),
        unwritten,
    })
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap_or_default())
}

/// Writes a sealed segment: records go in with [`Builder::push`] in order, [`Builder::finish`]
/// writes the index and syncs the file.
pub(crate) struct Builder {
    out: BufWriter<File>,
    offset: u64,
    /// Records of the frame being gathered.
    raw: Vec<u8>,
    raw_seq: u64,
    raw_max: i64,
    frames: Vec<Block>,
    summary: Segment,
    lease: u64,
    unwritten: Vec<(u64, u64)>,
}

impl Builder {
    /// Begins a sealed segment at `path` (a temporary file the caller renames once finished).
    pub(crate) fn create(path: &Path) -> std::io::Result<Builder> {
        let file = File::options()
            .create(true)
            .truncate(true)
            .write(true)
            .open(path)?;
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        out.write_all(&format::header(format::SEALED_MAGIC))?;
        Ok(Builder {
            out,
            offset: format::HEADER_LEN,
            raw: Vec::with_capacity(FRAME_TARGET * 2),
            raw_seq: 0,
            raw_max: i64::MIN,
            frames: Vec::new(),
            summary: Segment::new(path.to_owned(), 0),
            lease: 0,
            unwritten: Vec::new(),
        })
    }

    /// Adds one intact record (`record` is its frame and body).
    pub(crate) fn push(&mut self, head: Head, record: &[u8]) -> std::io::Result<()> {
        match head.kind {
            // Leases and lost ranges live in the index: start-up needs them without the frames.
            Kind::Lease => self.lease = head.seq,
            Kind::Unwritten => {
                if let Some(to) = format::unwritten_to(format::payload(record, record.len())) {
                    self.unwritten.push((head.seq, to));
                }
            }
            Kind::Entry | Kind::Packed => {
                if self.raw.is_empty() {
                    self.raw_seq = head.seq;
                }
                self.raw.extend_from_slice(record);
                self.raw_max = self.raw_max.max(head.micros);
                self.summary.observe(head, 0, 0);
                if self.raw.len() >= FRAME_TARGET {
                    self.flush_frame()?;
                }
            }
        }
        Ok(())
    }

    fn flush_frame(&mut self) -> std::io::Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        let (bytes, crc) = format::frame(&self.raw)?;
        self.out.write_all(&bytes)?;
        let reach = self.frames.last().map_or(i64::MIN, |b| b.reach_micros);
        self.frames.push(Block {
            seq: self.raw_seq,
            offset: self.offset,
            len: u32::try_from(bytes.len()).map_err(std::io::Error::other)?,
            crc,
            max_micros: self.raw_max,
            reach_micros: reach.max(self.raw_max),
        });
        self.offset += bytes.len() as u64;
        self.raw.clear();
        self.raw_max = i64::MIN;
        Ok(())
    }

    /// Writes the last frame, the index and the trailer, and syncs the file: the segment as it
    /// will be read once renamed to `path`.
    pub(crate) fn finish(mut self, path: &Path) -> std::io::Result<Segment> {
        self.flush_frame()?;
        let s = &self.summary;
        let mut index = Vec::with_capacity(
            SUMMARY_LEN + self.unwritten.len() * RANGE_LEN + self.frames.len() * FRAME_LINE_LEN,
        );
        let counts = |n: usize| u32::try_from(n).map_err(std::io::Error::other);
        for value in [
            s.first_seq.unwrap_or(0),
            s.last_seq.unwrap_or(0),
            s.first_micros.cast_unsigned(),
            s.min_micros.cast_unsigned(),
            s.max_micros.cast_unsigned(),
            s.entries,
            self.lease,
        ] {
            index.extend_from_slice(&value.to_le_bytes());
        }
        index.extend_from_slice(&counts(self.unwritten.len())?.to_le_bytes());
        index.extend_from_slice(&counts(self.frames.len())?.to_le_bytes());
        for (from, to) in &self.unwritten {
            index.extend_from_slice(&from.to_le_bytes());
            index.extend_from_slice(&to.to_le_bytes());
        }
        for frame in &self.frames {
            index.extend_from_slice(&frame.seq.to_le_bytes());
            index.extend_from_slice(&frame.offset.to_le_bytes());
            index.extend_from_slice(&frame.len.to_le_bytes());
            index.extend_from_slice(&frame.crc.to_le_bytes());
            index.extend_from_slice(&frame.max_micros.to_le_bytes());
        }
        self.out.write_all(&index)?;
        self.out.write_all(&counts(index.len())?.to_le_bytes())?;
        self.out.write_all(&crc32c::crc32c(&index).to_le_bytes())?;
        self.out.write_all(&INDEX_MAGIC)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        let mut segment = Segment::new(path.to_owned(), file.metadata()?.len());
        segment.first_seq = s.first_seq;
        segment.last_seq = s.last_seq;
        segment.first_micros = s.first_micros;
        segment.min_micros = s.min_micros;
        segment.max_micros = s.max_micros;
        segment.entries = s.entries;
        segment.blocks = std::sync::Arc::new(self.frames);
        segment.sealed = true;
        Ok(segment)
    }
}
