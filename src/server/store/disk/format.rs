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

use crate::model::LogEntry;

/// The first bytes of every segment file.
pub(crate) const MAGIC: [u8; 8] = *b"VGSEGMNT";
/// The first bytes of a sealed, compressed segment (`sealed`).
pub(crate) const SEALED_MAGIC: [u8; 8] = *b"VGSEALED";
/// The segment format this build writes and the newest it reads (1 had no sealed segments).
pub(crate) const VERSION: u32 = 2;
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
    /// A log entry: the payload is its JSON.
    Entry = 1,
    /// Seqs `seq..=payload` were (or may have been) stamped by a previous start and never written.
    Unwritten = 2,
    /// No seq above `seq` has been stamped yet: a restart continues above it (see `writer`).
    Lease = 3,
}

impl Kind {
    fn from_byte(byte: u8) -> Option<Kind> {
        match byte {
            1 => Some(Kind::Entry),
            2 => Some(Kind::Unwritten),
            3 => Some(Kind::Lease),
            _ => None,
        }
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

/// Appends an entry record (its JSON straight into the buffer, no intermediate string).
pub(crate) fn append_entry(out: &mut Vec<u8>, seq: u64, entry: &LogEntry) {
    let head = Head {
        kind: Kind::Entry,
        seq,
        micros: micros(&entry.timestamp),
    };
    append(out, head, |out| {
        // Writing into a Vec cannot fail, and a LogEntry always serializes.
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
    let bytes = zstd::bulk::compress(records, ZSTD_LEVEL)?;
    let crc = crc32c::crc32c(&bytes);
    Ok((bytes, crc))
}

/// The records a frame holds, if its bytes are intact (`None` for damage). Bounded: a frame never
/// holds more than one record of [`MAX_BODY`] beyond the sealer's target size.
pub(crate) fn unframe(bytes: &[u8], crc: u32) -> Option<Vec<u8>> {
    if crc32c::crc32c(bytes) != crc {
        return None;
    }
    let limit = (2 * (FRAME_LEN + MAX_BODY)) as u64;
    let mut out = Vec::new();
    let decoder = zstd::stream::read::Decoder::new(bytes).ok()?;
    std::io::Read::read_to_end(&mut std::io::Read::take(decoder, limit), &mut out).ok()?;
    Some(out)
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
        assert_eq!((head.kind, head.seq, len), (Kind::Entry, 42, out.len()));
        let back: LogEntry = serde_json::from_slice(payload(&out, len)).unwrap();
        assert_eq!(back.message, "slow request");
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
    fn a_newer_version_is_told_apart_from_garbage() {
        let mut newer = header(MAGIC);
        newer[8] = 3;
        assert_eq!(check_header(&newer), Err(BadHeader::Newer(3)));
        assert_eq!(check_header(b"hello"), Err(BadHeader::NotASegment));
        assert_eq!(check_header(&header(MAGIC)), Ok(Layout::Open));
        assert_eq!(check_header(&header(SEALED_MAGIC)), Ok(Layout::Sealed));
        let mut v1 = header(MAGIC);
        v1[8] = 1;
        assert_eq!(
            check_header(&v1),
            Ok(Layout::Open),
            "format 1 is still read"
        );
    }
}
