//! Building `entries` frames: many entries per WebSocket message, each frame bounded in size.
//!
//! Entries are written straight from the shared `Arc<LogEntry>` into the frame's JSON, without
//! cloning them into a `ServerMessage`. A single entry too large for one frame is sent shortened
//! (message cut, meta replaced by a note saying so) rather than breaking the connection: otherwise a
//! client would reconnect, ask for the same entry again and be cut off again, forever.

use crate::model::LogEntry;

const HEAD: &str = r#"{"type":"entries","entries":["#;
const TAIL: &str = "]}";
/// How much of an oversized entry's message is kept.
const SHORTENED_MESSAGE: usize = 8 * 1024;

/// Accumulates entries into one `entries` frame.
#[derive(Debug)]
pub(crate) struct Batch {
    json: Vec<u8>,
    count: usize,
    max_entries: usize,
    max_bytes: usize,
    max_entry_bytes: usize,
}

impl Batch {
    /// A batch that reports full at `max_entries` entries or `max_bytes` of JSON; a single entry
    /// larger than `max_entry_bytes` is shortened.
    pub(crate) fn new(max_entries: usize, max_bytes: usize, max_entry_bytes: usize) -> Batch {
        Batch {
            json: Vec::new(),
            count: 0,
            max_entries: max_entries.max(1),
            max_bytes,
            max_entry_bytes,
        }
    }

    /// Appends one entry.
    pub(crate) fn push(&mut self, entry: &LogEntry) {
        // Cloned only to be shortened, for an entry too large for a frame.
        self.push_written(
            |out| {
                write_entry(out, entry);
                true
            },
            || Some(entry.clone()),
        );
    }

    /// Appends one entry as `write` writes its JSON (exactly what [`Batch::push`] would write: an
    /// entry read from disk, written from its stored form); `false` if `write` could not (it is
    /// then left out). One too large for a frame is shortened from `entry()`, as `push` does.
    pub(crate) fn push_written(
        &mut self,
        write: impl FnOnce(&mut Vec<u8>) -> bool,
        entry: impl FnOnce() -> Option<LogEntry>,
    ) -> bool {
        let start = self.json.len();
        self.json
            .extend_from_slice(if self.count == 0 { HEAD } else { "," }.as_bytes());
        let mark = self.json.len();
        if !write(&mut self.json) {
            self.json.truncate(start);
            return false;
        }
        let written = self.json.len() - mark;
        if written > self.max_entry_bytes {
            self.json.truncate(mark);
            let Some(entry) = entry() else {
                self.json.truncate(start);
                return false;
            };
            write_entry(&mut self.json, &shortened(&entry, written));
        }
        self.count += 1;
        true
    }

    /// Appends one entry given as its JSON, as it was serialized before (a Redis record written by
    /// a vg publisher), without decoding and encoding it again. `json` must be one entry that a
    /// client decodes (the caller checked it); one too large for a frame is decoded to be shortened,
    /// as [`Batch::push`] does.
    pub(crate) fn push_json(&mut self, json: &str) {
        if json.len() > self.max_entry_bytes {
            if let Ok(entry) = serde_json::from_str::<LogEntry>(json) {
                self.push(&entry);
            }
            return;
        }
        self.json
            .extend_from_slice(if self.count == 0 { HEAD } else { "," }.as_bytes());
        self.json.extend_from_slice(json.as_bytes());
        self.count += 1;
    }

    /// The frame's size so far.
    pub(crate) fn bytes(&self) -> usize {
        self.json.len()
    }

    /// Whether the batch should be sent before taking more.
    pub(crate) fn is_full(&self) -> bool {
        self.count >= self.max_entries || self.json.len() >= self.max_bytes
    }

    /// The finished frame, if any entries were pushed; the batch is empty afterwards.
    pub(crate) fn take(&mut self) -> Option<String> {
        self.take_with_cursor(None)
    }

    /// The finished frame, carrying the merged stream's `cursor` after its last entry when given.
    pub(crate) fn take_with_cursor(&mut self, cursor: Option<&str>) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        if let Some(cursor) = cursor {
            self.json.extend_from_slice(b"],\"cursor\":");
            let _ = serde_json::to_writer(&mut self.json, cursor);
            self.json.push(b'}');
        } else {
            self.json.extend_from_slice(TAIL.as_bytes());
        }
        self.count = 0;
        let bytes = std::mem::take(&mut self.json);
        // serde_json only ever writes UTF-8, so this never takes the lossy path.
        Some(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        )
    }
}

fn write_entry(out: &mut Vec<u8>, entry: &LogEntry) {
    // Writing into a Vec cannot fail, and a LogEntry always serializes.
    let _ = serde_json::to_writer(out, entry);
}

/// The entry with its message cut and its meta replaced by a note of what was dropped.
fn shortened(entry: &LogEntry, original_bytes: usize) -> LogEntry {
    let mut cut = SHORTENED_MESSAGE.min(entry.message.len());
    while !entry.message.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut short = LogEntry {
        message: format!("{}…", &entry.message[..cut]),
        meta: crate::model::Meta::new(),
        ..entry.clone()
    };
    short.meta.insert(crate::model::TRUNCATED_KEY, true);
    short.meta.insert("vgOriginalBytes", original_bytes);
    short
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use crate::wire::{Incoming, ServerMessage, decode_server_frame};

    fn entries(frame: &str) -> Vec<LogEntry> {
        match decode_server_frame(frame).unwrap() {
            Incoming::Message(ServerMessage::Entries { entries }) => entries,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn frames_decode_as_protocol_entries_and_respect_the_count_cap() {
        let mut batch = Batch::new(2, usize::MAX, usize::MAX);
        assert!(batch.take().is_none());
        batch.push(&LogEntry::new(Level::Info, "a", "one"));
        assert!(!batch.is_full());
        batch.push(&LogEntry::new(Level::Warn, "b", "two \"quoted\"\n"));
        assert!(batch.is_full());
        let got = entries(&batch.take().unwrap());
        assert_eq!(got[1].message, "two \"quoted\"\n");
        assert!(batch.take().is_none(), "take leaves the batch empty");
        batch.push(&LogEntry::new(Level::Info, "a", "three"));
        assert_eq!(entries(&batch.take().unwrap()).len(), 1);
    }

    #[test]
    fn a_merged_frame_carries_its_cursor_and_still_decodes_as_entries() {
        let mut batch = Batch::new(10, usize::MAX, usize::MAX);
        batch.push(&LogEntry::new(Level::Info, "a", "one"));
        let frame = batch.take_with_cursor(Some("1764770000000-3")).unwrap();
        assert_eq!(entries(&frame).len(), 1);
        let json: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(json["cursor"], "1764770000000-3");
        assert!(
            batch.take_with_cursor(Some("1-0")).is_none(),
            "no entries, no frame"
        );
    }

    #[test]
    fn an_entry_passed_as_json_is_the_same_frame_as_the_entry_itself() {
        let mut entry = LogEntry::new(Level::Warn, "api", "line \"one\"\n\u{1b}[2J")
            .with_meta("statusCode", 503)
            .with_meta("ratio", 0.1);
        // The wire's precision, so the decoded entry equals it.
        entry.timestamp = "2026-02-05T18:00:00.123Z".parse().unwrap();
        let (mut typed, mut passed) = (
            Batch::new(10, usize::MAX, usize::MAX),
            Batch::new(10, usize::MAX, usize::MAX),
        );
        for _ in 0..2 {
            typed.push(&entry);
            passed.push_json(&entry.to_json());
        }
        let frame = passed.take_with_cursor(Some("5-1")).unwrap();
        assert_eq!(frame, typed.take_with_cursor(Some("5-1")).unwrap());
        assert_eq!(entries(&frame), [entry.clone(), entry.clone()]);

        // Too large for a frame: shortened as a typed entry would be, not sent whole.
        let big = LogEntry::new(Level::Error, "a", "x".repeat(20_000)).with_meta("k", "v");
        let mut batch = Batch::new(10, usize::MAX, 4096);
        batch.push_json(&big.to_json());
        let got = entries(&batch.take().unwrap());
        assert_eq!(got[0].meta["vgTruncated"], true);
        assert!(got[0].message.len() <= SHORTENED_MESSAGE + 3);
    }

    #[test]
    fn an_entry_written_by_its_reader_is_the_same_frame_and_a_failed_write_leaves_no_trace() {
        let entry = LogEntry::new(Level::Info, "api", "one \"two\"").with_meta("k", 1);
        let (mut typed, mut written) = (
            Batch::new(10, usize::MAX, usize::MAX),
            Batch::new(10, usize::MAX, usize::MAX),
        );
        typed.push(&entry);
        typed.push(&entry);
        let write = |out: &mut Vec<u8>| serde_json::to_writer(out, &entry).is_ok();
        assert!(written.push_written(write, || None));
        let failed = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"{\"partial");
            false
        };
        assert!(!written.push_written(failed, || Some(entry.clone())));
        assert!(written.push_written(write, || None));
        assert_eq!(written.take(), typed.take());

        // Too large for a frame: shortened from the entry, as `push` does.
        let big = LogEntry::new(Level::Error, "a", "x".repeat(20_000)).with_meta("k", "v");
        let mut batch = Batch::new(10, usize::MAX, 4096);
        let write = |out: &mut Vec<u8>| serde_json::to_writer(out, &big).is_ok();
        assert!(batch.push_written(write, || Some(big.clone())));
        let got = entries(&batch.take().unwrap());
        assert_eq!(got[0].meta["vgTruncated"], true);
        assert!(got[0].message.len() <= SHORTENED_MESSAGE + 3);
    }

    #[test]
    fn byte_cap_marks_full() {
        let mut batch = Batch::new(100, 200, usize::MAX);
        batch.push(&LogEntry::new(Level::Info, "a", "x".repeat(300)));
        assert!(batch.is_full());
    }

    #[test]
    fn an_oversized_entry_is_shortened_not_dropped() {
        let mut batch = Batch::new(10, usize::MAX, 4096);
        let big = LogEntry::new(Level::Error, "a", "é".repeat(20_000)).with_meta("k", "v");
        batch.push(&big);
        let got = entries(&batch.take().unwrap());
        assert!(got[0].message.len() <= SHORTENED_MESSAGE + 3);
        assert!(got[0].message.ends_with('…'));
        assert_eq!(got[0].meta["vgTruncated"], true);
        assert!(got[0].meta["vgOriginalBytes"].as_u64().unwrap() > 40_000);
        assert!(!got[0].meta.contains_key("k"));
    }
}
