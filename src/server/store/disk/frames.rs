//! The sealed frames a thread decompressed last, kept for the reads that follow.
//!
//! Reads come in chunks (a backfill asks for a few hundred entries at a time, a `since` window
//! seeks and then reads), and a frame holds a few hundred entries: without this, consecutive
//! reads decompressed the same frame again for each chunk that started in it, and a window's
//! first read decompressed the frame its seek had just decompressed. A sealed segment's file is
//! never changed once renamed into place, and its index gives each frame's offset and checksum,
//! so a frame is known by its segment's path, its offset and its checksum without reading it.
//!
//! Per thread, so no lock is shared between readers; [`KEEP`] frames of at most [`MAX_KEPT`]
//! bytes each, plus a spare buffer: at most about 3 MiB a thread that reads history (the server's
//! runtime workers), however large a frame is, and about 50 KiB for the 16 KiB frames vg writes.
//! This is outside `--max-viewer-bytes`, which counts what a viewer holds.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

/// Frames kept per thread: the one a read is in and the one before it (a chunk that ends in the
/// next frame, then a chunk that starts back in the first, as a byte-sized read may).
const KEEP: usize = 2;
/// A frame larger than this (one holding a huge entry) is not kept.
const MAX_KEPT: usize = 1 << 20;

#[derive(Debug, PartialEq, Eq)]
struct Key {
    path: PathBuf,
    offset: u64,
    crc: u32,
}

/// Where the last walk through a kept frame stopped: the seq and offset of a record in it. The
/// next read from that seq on (the chunk after a full one, the read after a `since` seek) starts
/// there instead of walking, and checking, every record before it again.
pub(crate) type Mark = Option<(u64, usize)>;

/// A kept frame: its records, and its [`Mark`].
pub(crate) struct Frame {
    pub(crate) records: Vec<u8>,
    pub(crate) mark: Mark,
}

#[derive(Default)]
struct Kept {
    /// Most recently used last.
    frames: Vec<(Key, Frame)>,
    /// A buffer to decompress into, left from a frame no longer kept.
    spare: Vec<u8>,
}

thread_local! {
    static KEPT: RefCell<Kept> = RefCell::new(Kept::default());
}

/// The records of the frame at `offset` (with checksum `crc`) of the sealed segment at `path`, if
/// this thread kept them; the caller hands them back with [`put`].
pub(crate) fn take(path: &Path, offset: u64, crc: u32) -> Option<Frame> {
    KEPT.with_borrow_mut(|kept| {
        let i = kept
            .frames
            .iter()
            .position(|(k, _)| k.offset == offset && k.crc == crc && k.path == path)?;
        Some(kept.frames.remove(i).1)
    })
}

/// An empty buffer to decompress a frame into (one a dropped frame left, when there is one).
pub(crate) fn buffer() -> Vec<u8> {
    KEPT.with_borrow_mut(|kept| {
        let mut spare = std::mem::take(&mut kept.spare);
        spare.clear();
        spare
    })
}

/// Keeps the records of a frame (intact and decompressed) as the most recently used.
pub(crate) fn put(path: &Path, offset: u64, crc: u32, frame: Frame) {
    KEPT.with_borrow_mut(|kept| {
        if frame.records.capacity() > MAX_KEPT {
            return;
        }
        if kept.frames.len() >= KEEP {
            let (_, dropped) = kept.frames.remove(0);
            kept.spare = dropped.records;
        }
        let key = Key {
            path: path.to_owned(),
            offset,
            crc,
        };
        kept.frames.push((key, frame));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_found_only_by_its_segment_offset_and_checksum_and_few_are_kept() {
        let (a, b) = (Path::new("a.seg"), Path::new("b.seg"));
        let frame = |records: Vec<u8>| Frame {
            records,
            mark: None,
        };
        put(a, 16, 1, frame(b"one".to_vec()));
        assert!(take(b, 16, 1).is_none(), "another segment");
        assert!(take(a, 16, 2).is_none(), "another checksum");
        assert!(take(a, 17, 1).is_none(), "another offset");
        let mut one = take(a, 16, 1).unwrap();
        assert_eq!(one.records, b"one");
        assert!(take(a, 16, 1).is_none(), "taken until put back");
        one.mark = Some((7, 2));
        put(a, 16, 1, one);
        let one = take(a, 16, 1).unwrap();
        assert_eq!(one.mark, Some((7, 2)), "with its mark");
        put(a, 16, 1, one);
        for offset in 100..100 + KEEP as u64 {
            put(a, offset, 1, frame(vec![0; 4]));
        }
        assert!(take(a, 16, 1).is_none(), "the oldest was let go");
        assert!(buffer().capacity() >= 3, "its buffer is reused");
        put(a, 1, 1, frame(Vec::with_capacity(MAX_KEPT + 1)));
        assert!(take(a, 1, 1).is_none(), "too large to keep");
    }
}
