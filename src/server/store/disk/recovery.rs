//! Reading a data dir back at start: a sealed segment's index is read from its end (its frames are
//! not read); an open segment (the one the last start wrote, or one it had not sealed yet) is
//! scanned once, its index rebuilt, and damage dealt with so that the server always starts.
//!
//! - A sealed segment whose index is damaged is left out (and said): its entries are not served.
//! - A torn last record (the process died mid-write) is cut off and counted.
//! - A damaged record with intact records after it (a flipped byte, a bad sector) is reported with
//!   its segment and offset and skipped; readers jump over it and serve the rest.
//! - A segment written by a newer format version stops the start with a clear message: guessing at
//!   a format this build does not know could serve garbage or cut good data.

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use super::DiskError;
use super::format::{self, BadHeader, HEADER_LEN, Kind, Layout, Parsed};
use super::sealed;
use super::segment::Segment;

/// One segment as found at start.
#[derive(Debug)]
pub(crate) struct Scanned {
    pub(crate) segment: Segment,
    /// The last lease recorded in it (0 if none): leases only grow while a start runs, and a
    /// graceful stop records the exact stamped seq last, below the lease before it.
    pub(crate) lease: u64,
    /// Ranges lost at earlier restarts, as recorded.
    pub(crate) unwritten: Vec<(u64, u64)>,
    /// Bytes cut off the end (a torn record).
    pub(crate) torn_bytes: u64,
    /// Why a sealed segment cannot be used: it is left out.
    pub(crate) unusable: Option<String>,
}

/// Scans segment `id` at `path`; cuts a torn tail off the file.
pub(crate) fn scan(path: &Path) -> Result<Scanned, DiskError> {
    let io = |source| DiskError::io("read", path, source);
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let file_len = meta.len();
    let mut segment = Segment::new(path.to_owned(), HEADER_LEN);
    if let Ok(modified) = meta.modified() {
        segment.modified = modified;
    }
    let mut scanned = Scanned {
        segment,
        lease: 0,
        unwritten: Vec::new(),
        torn_bytes: 0,
        unusable: None,
    };
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut header = [0; HEADER_LEN as usize];
    if file_len < HEADER_LEN {
        // Died while creating it: nothing was ever in it.
        scanned.torn_bytes = file_len;
        scanned.segment.len = 0;
        return Ok(scanned);
    }
    reader.read_exact(&mut header).map_err(io)?;
    match format::check_header(&header) {
        Ok(Layout::Open) => {}
        Ok(Layout::Sealed) => {
            match sealed::load(path, reader.get_mut()) {
                Ok(loaded) => {
                    scanned.segment = loaded.segment;
                    scanned.lease = loaded.lease;
                    scanned.unwritten = loaded.unwritten;
                }
                Err(why) => scanned.unusable = Some(why),
            }
            return Ok(scanned);
        }
        Err(BadHeader::Newer(version)) => {
            return Err(DiskError::NewerFormat {
                path: path.to_owned(),
                version,
            });
        }
        Err(BadHeader::NotASegment) => {
            return Err(DiskError::NotASegment {
                path: path.to_owned(),
            });
        }
    }
    let mut offset = HEADER_LEN;
    let mut buf = Vec::new();
    while offset < file_len {
        let intact = read_one(&mut reader, &mut buf, file_len - offset);
        let Some((head, len)) = intact else {
            match resync(path, offset, file_len).map_err(io)? {
                Some(resume) => {
                    scanned.segment.damaged.push((offset, resume));
                    offset = resume;
                    reader.seek(SeekFrom::Start(offset)).map_err(io)?;
                    continue;
                }
                None => {
                    scanned.torn_bytes = file_len - offset;
                    break;
                }
            }
        };
        match head.kind {
            Kind::Lease => scanned.lease = head.seq,
            Kind::Unwritten => {
                if let Some(to) = format::unwritten_to(format::payload(&buf, len)) {
                    scanned.unwritten.push((head.seq, to));
                }
            }
            Kind::Entry | Kind::Packed => {}
        }
        scanned.segment.observe(head, offset, len);
        offset += len as u64;
    }
    scanned.segment.len = offset;
    if scanned.torn_bytes > 0 {
        let file = OpenOptions::new().write(true).open(path);
        file.and_then(|f| f.set_len(offset).and_then(|()| f.sync_all()))
            .map_err(|e| DiskError::io("cut the torn end of", path, e))?;
    }
    Ok(scanned)
}

/// Reads and checks the record at the reader's position.
fn read_one(reader: &mut impl Read, buf: &mut Vec<u8>, left: u64) -> Option<(format::Head, usize)> {
    buf.resize(format::FRAME_LEN, 0);
    reader.read_exact(buf).ok()?;
    let len = format::announced_len(buf)?;
    if len as u64 > left {
        return None;
    }
    buf.resize(len, 0);
    reader.read_exact(&mut buf[format::FRAME_LEN..]).ok()?;
    match format::parse(buf) {
        Parsed::Record { head, len } => Some((head, len)),
        Parsed::Short | Parsed::Damaged => None,
    }
}

/// Where intact records resume after damage at `offset`, if any do: first where the damaged
/// record's own length points (only its contents were hit), else the next offset at which an intact
/// record starts. `None` means nothing intact follows: the damage is a torn end.
fn resync(path: &Path, offset: u64, file_len: u64) -> std::io::Result<Option<u64>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut rest = Vec::new();
    file.take(file_len - offset).read_to_end(&mut rest)?;
    let intact_at = |at: usize| matches!(format::parse(&rest[at..]), Parsed::Record { .. });
    if let Some(len) = format::announced_len(&rest)
        && len < rest.len()
        && intact_at(len)
    {
        return Ok(Some(offset + len as u64));
    }
    Ok((1..rest.len())
        .find(|&at| intact_at(at))
        .map(|at| offset + at as u64))
}
