//! The bytes on disk: a segment's header and the framing of each record (docs/storage.md).
//!
//! ```text
//!   segment header (16 bytes)   "VGSEGMNT" (or "VGSEALED") | version u32 LE | reserved u32 (0)
//!   record                      body length u32 LE | CRC-32C of the body u32 LE | body
//!   body                        kind u8 | seq u64 LE | time i64 LE (µs since the epoch) | payload
//! ```
//!
//! Every record carries its seq and time outside the payload, so recovery and the index read them
//! without parsing JSON; the checksum covers the whole body, so a torn or flipped record is never
//! served. Integers are little-endian.

use std::io::Write;

use chrono::{DateTime, Utc};

use super::packed;
use crate::model::LogEntry;

/// The first bytes of every segment file.
pub(crate) const MAGIC: [u8; 8] = *b"VGSEGMNT";
/// The first bytes of a sealed, compressed segment (`sealed`).
pub(crate) const SEALED_MAGIC: [u8; 8] = *b"VGSEALED";
/// The segment format this build writes and the newest it reads (1 had no sealed segments; 2 kept
/// entries as JSON, which this build still reads).
pub(crate) const VERSION: u32 = 3;
/// Bytes before the first record.
pub(crate) const HEADER_LEN: u64 = 16;
/// Length and checksum in front of each body.
pub(crate) const FRAME_LEN: usize = 8;
/// Kind, seq and time at the start of each body.
pub(crate) const BODY_FIXED: usize = 17;
/// The largest body accepted when reading: a length beyond it is damage, not a record.
pub(crate) const MAX_BODY: usize = 64 << 20;

/// What a record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A log entry as its JSON (formats 1 and 2; read, no longer written).
    Entry = 1,
    /// Seqs `seq..=payload` were (or may have been) stamped by a previous start and never written.
    Unwritten = 2,
    /// No seq above `seq` has been stamped yet: a restart continues above it (see `writer`).
    Lease = 3,
    /// A log entry in the compact binary form of `packed` (format 3).
    Packed = 4,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Entry),
            2 => Some(Kind::Unwritten),
            3 => Some(Kind::Lease),
            4 => Some(Kind::Packed),
            _ => None,
        }
    }

    /// Whether the record holds a log entry (in either form).
    pub(crate) fn is_entry(self) -> bool {
        matches!(self, Kind::Entry | Kind::Packed)
    }
}

/// The fixed part of a record's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) kind: Kind,
    pub(crate) seq: u64,
    /// Microseconds since the epoch.
    pub(crate) micros: i64,
}

/// A segment's header: `magic` is [`MAGIC`] or [`SEALED_MAGIC`].
pub(crate) fn header(magic: [u8; 8]) -> [u8; HEADER_LEN as usize] {
    let mut out = [0; HEADER_LEN as usize];
    out[..8].copy_from_slice(&magic);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out
}

/// Why a header cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadHeader {
    /// Not a vg segment at all (or cut before its header was complete).
    NotASegment,
    /// Written by a newer vg.
    Newer(u32),
}

/// How a segment's records are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Records back to back, as written (the active segment, and segments of format 1).
    Open,
    /// Compressed frames and an index (`sealed`).
    Sealed,
}

/// Checks a segment's first [`HEADER_LEN`] bytes.
pub(crate) fn check_header(bytes: &[u8]) -> Result<Layout, BadHeader> {
    let layout = match bytes.get(..8) {
        Some(magic) if bytes.len() >= HEADER_LEN as usize && *magic == MAGIC => Layout::Open,
        Some(magic) if bytes.len() >= HEADER_LEN as usize && *magic == SEALED_MAGIC => {
            Layout::Sealed
        }
        _ => return Err(BadHeader::NotASegment),
    };
    let version = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
    if version > VERSION {
        return Err(BadHeader::Newer(version));
    }
    Ok(layout)
}

/// Microseconds since the epoch, saturating far outside any real log's range.
pub(crate) fn micros(time: &DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// The time `micros` stands for.
pub(crate) fn time_of(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// Appends one record to `out`: the frame, then the body written by `payload`.
fn append(out: &mut Vec<u8>, head: Head, payload: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; FRAME_LEN]);
    out.push(head.kind as u8);
    out.extend_from_slice(&head.seq.to_le_bytes());
    out.extend_from_slice(&head.micros.to_le_bytes());
    payload(out);
    let body = &out[start + FRAME_LEN..];
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
    let crc = crc32c::crc32c(body);
    out[start..start + 4].copy_from_slice(&len.to_le_bytes());
    out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

/// Appends an entry record (packed straight into the buffer, no intermediate copy).
pub(crate) fn append_entry(out: &mut Vec<u8>, seq: u64, entry: &LogEntry) {
    let head = Head {
        kind: Kind::Packed,
        seq,
        micros: micros(&entry.timestamp),
    };
    append(out, head, |out| packed::encode(out, entry));
}

/// The entry an intact entry record holds (`None` if its payload does not decode).
pub(crate) fn entry(head: Head, payload: &[u8]) -> Option<LogEntry> {
    match head.kind {
        Kind::Packed => packed::decode(payload, head.seq, head.micros),
        Kind::Entry => {
            let mut entry = serde_json::from_slice::<LogEntry>(payload).ok()?;
            entry.seq = Some(head.seq);
            Some(entry)
        }
        Kind::Lease | Kind::Unwritten => None,
    }
}

/// Appends an entry record in format 2's form (its JSON): what older data dirs hold.
#[cfg(test)]
pub(crate) fn append_json_entry(out: &mut Vec<u8>, seq: u64, entry: &LogEntry) {
    let head = Head {
        kind: Kind::Entry,
        seq,
        micros: micros(&entry.timestamp),
    };
    append(out, head, |out| {
        let _ = serde_json::to_writer(&mut *out, entry);
    });
}

/// Appends a lease record: nothing above `lease` was stamped when it was written.
pub(crate) fn append_lease(out: &mut Vec<u8>, lease: u64) {
    let head = Head {
        kind: Kind::Lease,
        seq: lease,
        micros: micros(&Utc::now()),
    };
    append(out, head, |_| {});
}

/// Appends the record of seqs `from..=to` lost at a restart.
pub(crate) fn append_unwritten(out: &mut Vec<u8>, from: u64, to: u64) {
    let head = Head {
        kind: Kind::Unwritten,
        seq: from,
        micros: micros(&Utc::now()),
    };
    append(out, head, |out| {
        let _ = out.write_all(&to.to_le_bytes());
    });
}

/// The `to` of an [`Kind::Unwritten`] record's payload.
pub(crate) fn unwritten_to(payload: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(payload.get(..8)?.try_into().ok()?))
}

/// What the bytes at one offset hold.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// A whole, intact record of `len` bytes (frame included).
    Record { head: Head, len: usize },
    /// The bytes end before the record does: a torn write, or simply the end.
    Short,
    /// The frame or the checksum is wrong.
    Damaged,
}

/// Parses the record at the start of `bytes` (which may hold more after it).
pub(crate) fn parse(bytes: &[u8]) -> Parsed {
    let Some(frame) = bytes.get(..FRAME_LEN) else {
        return Parsed::Short;
    };
    let len = u32::from_le_bytes([frame[0], frame[1], frame[2], frame[3]]) as usize;
    let crc = u32::from_le_bytes([frame[4], frame[5], frame[6], frame[7]]);
    if !(BODY_FIXED..=MAX_BODY).contains(&len) {
        return Parsed::Damaged;
    }
    let Some(body) = bytes.get(FRAME_LEN..FRAME_LEN + len) else {
        return Parsed::Short;
    };
    if crc32c::crc32c(body) != crc {
        return Parsed::Damaged;
    }
    let Some(kind) = Kind::from_byte(body[0]) else {
        return Parsed::Damaged;
    };
    let seq = u64::from_le_bytes(body[1..9].try_into().unwrap_or_default());
    let micros = i64::from_le_bytes(body[9..17].try_into().unwrap_or_default());
    Parsed::Record {
        head: Head { kind, seq, micros },
        len: FRAME_LEN + len,
    }
}

/// The body length a frame announces, if it is plausible.
pub(crate) fn announced_len(frame: &[u8]) -> Option<usize> {
    let len = u32::from_le_bytes(frame.get(..4)?.try_into().ok()?) as usize;
    (BODY_FIXED..=MAX_BODY)
        .contains(&len)
        .then_some(FRAME_LEN + len)
}

/// zstd's level for sealed frames: its default, a good ratio at a speed the sealer keeps up with.
const ZSTD_LEVEL: i32 = 3;

/// A sealed segment's frame: `records` (whole records, framed as above) compressed as one zstd
/// frame, and the CRC-32C of the compressed bytes.
pub(crate) fn frame(records: &[u8]) -> std::io::Result<(Vec<u8>, u32)> {
    thread_local! {
        // A compression context at level 3 is hundreds of KiB of tables to allocate and set up,
        // more than compressing one frame costs: one per thread (the sealer's), reused.
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    let bytes = CONTEXT.with_borrow_mut(|context| {
        let context = match context {
            Some(context) => context,
            None => context.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
        };
        context.compress(records)
    })?;
    let crc = crc32c::crc32c(&bytes);
    Ok((bytes, crc))
}

/// Decompresses a frame's records into `out` (replacing what it held), if its bytes are intact;
/// `false` for damage. Bounded: a frame never holds more than one record of [`MAX_BODY`] beyond the
/// sealer's target size.
pub(crate) fn unframe(bytes: &[u8], crc: u32, out: &mut Vec<u8>) -> bool {
    thread_local! {
        // A decompression context costs about as much to set up as decompressing a frame does, and
        // a replay reads thousands of frames: one per thread, reused.
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    if crc32c::crc32c(bytes) != crc {
        return false;
    }
    // Sized by the content size the sealer wrote in the frame's header, within the limit.
    let Ok(Some(size)) = zstd::zstd_safe::get_frame_content_size(bytes) else {
        return false;
    };
    let Some(size) = usize::try_from(size)
        .ok()
        .filter(|&size| size <= 2 * (FRAME_LEN + MAX_BODY))
    else {
        return false;
    };
    out.clear();
    out.reserve(size);
    CONTEXT.with_borrow_mut(|context| {
        if context.is_none() {
            *context = zstd::bulk::Decompressor::new().ok();
        }
        context
            .as_mut()
            .is_some_and(|c| c.decompress_to_buffer(bytes, out).is_ok())
    })
}

/// The payload of the intact record at the start of `bytes`.
pub(crate) fn payload(bytes: &[u8], len: usize) -> &[u8] {
    &bytes[FRAME_LEN + BODY_FIXED..len]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    #[test]
    fn a_record_reads_back_and_any_flipped_byte_is_caught() {
        let entry = LogEntry::new(Level::Warn, "api", "slow request");
        let mut out = Vec::new();
        append_entry(&mut out, 42, &entry);
        let Parsed::Record { head, len } = parse(&out) else {
            panic!("an intact record did not parse");
        };
        assert_eq!((head.kind, head.seq, len), (Kind::Packed, 42, out.len()));
        let back = super::entry(head, payload(&out, len)).unwrap();
        assert_eq!(
            (back.message.as_str(), back.seq),
            ("slow request", Some(42))
        );
        for i in 0..out.len() {
            let mut flipped = out.clone();
            flipped[i] ^= 0x10;
            assert!(
                !matches!(parse(&flipped), Parsed::Record { head: h, .. } if h == head),
                "a flip at byte {i} went unnoticed"
            );
        }
        assert_eq!(parse(&out[..out.len() - 1]), Parsed::Short);
    }

    #[test]
    fn format_2_json_entries_still_read_back() {
        let entry_in = LogEntry::new(Level::Error, "db", "down").with_meta("code", 7);
        let mut out = Vec::new();
        append_json_entry(&mut out, 9, &entry_in);
        let Parsed::Record { head, len } = parse(&out) else {
            panic!("an intact record did not parse");
        };
        assert_eq!(head.kind, Kind::Entry);
        let back = entry(head, payload(&out, len)).unwrap();
        assert_eq!((back.message.as_str(), back.seq), ("down", Some(9)));
        assert_eq!(back.meta["code"], 7);
    }

    #[test]
    fn a_newer_version_is_told_apart_from_garbage() {
        let mut newer = header(MAGIC);
        newer[8] = 4;
        assert_eq!(check_header(&newer), Err(BadHeader::Newer(4)));
        assert_eq!(check_header(b"hello"), Err(BadHeader::NotASegment));
        assert_eq!(check_header(&header(MAGIC)), Ok(Layout::Open));
        assert_eq!(check_header(&header(SEALED_MAGIC)), Ok(Layout::Sealed));
        for older in [1, 2] {
            let mut old = header(MAGIC);
            old[8] = older;
            assert_eq!(
                check_header(&old),
                Ok(Layout::Open),
                "format {older} is still read"
            );
        }
    }
}
