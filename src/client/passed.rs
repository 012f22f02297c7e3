//! Entries passed on as the server wrote them, for a consumer that only prints their JSON
//! (`vg logs --json` on one server).
//!
//! Decoding every entry of a frame into a [`LogEntry`] and serializing it again was most of what
//! `vg logs --json` cost (docs/benchmarks.md). An entry in vg's own compact form, which is what a vg
//! server writes, is read in place instead ([`FlatLine`]: checked to be exactly what the full
//! decoder reads, printable ASCII without escapes) and passed on as its text; any other entry is
//! decoded as before. A vg server's plain stream is written by serde_json (or from stored bytes, to
//! the same bytes), so the text passed on is the text serializing the decoded entry would give. A
//! merged stream is not passed on: it carries records as other instances published them.

use std::ops::Range;

use serde::Deserialize;
use serde_json::value::RawValue;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use crate::model::LogEntry;
use crate::model::decode::FlatLine;
use crate::wire::FrameError;

/// How a vg server's `entries` frame starts (it writes the tag first, compactly); any other frame is
/// decoded whole.
pub(crate) const FRAME_START: &str = r#"{"type":"entries","#;

/// One `entries` frame's entries, oldest first, each as its JSON text or decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonEntries {
    /// The frame: flat entries are slices of it.
    frame: Utf8Bytes,
    /// Each entry and its seq.
    items: Vec<(Item, Option<u64>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// Read flat: its place in the frame.
    Flat(Range<usize>),
    /// Anything else, decoded.
    Decoded(LogEntry),
}

/// One entry of [`JsonEntries`].
#[derive(Debug, Clone, Copy)]
pub enum Passed<'a> {
    /// An entry in vg's compact form, as its JSON text (printable ASCII, one line).
    Flat(&'a str),
    /// Any other entry, decoded.
    Entry(&'a LogEntry),
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    entries: Vec<&'a RawValue>,
}

impl JsonEntries {
    /// The entries of an `entries` frame. Fails as decoding the frame whole would: on a frame that
    /// is not one, or an entry that does not decode.
    pub(crate) fn read(frame: Utf8Bytes) -> Result<JsonEntries, FrameError> {
        let text = frame.as_str();
        let parsed: Frame<'_> = serde_json::from_str(text).map_err(|e| FrameError::new(text, e))?;
        let base = text.as_ptr() as usize;
        let mut items = Vec::with_capacity(parsed.entries.len());
        for raw in parsed.entries {
            let json = raw.get();
            let item = match FlatLine::of(json) {
                Some(flat) => {
                    let start = json.as_ptr() as usize - base;
                    (Item::Flat(start..start + json.len()), flat.seq)
                }
                None => {
                    let entry: LogEntry =
                        serde_json::from_str(json).map_err(|e| FrameError::new(text, e))?;
                    let seq = entry.seq;
                    (Item::Decoded(entry), seq)
                }
            };
            items.push(item);
        }
        Ok(JsonEntries { frame, items })
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = Passed<'_>> {
        self.items.iter().map(|(item, _)| match item {
            Item::Flat(range) => Passed::Flat(&self.frame.as_str()[range.clone()]),
            Item::Decoded(entry) => Passed::Entry(entry),
        })
    }

    /// Keeps only the entries with a seq after `last` (and those without one).
    pub(crate) fn retain_after(&mut self, last: u64) {
        self.items.retain(|(_, seq)| seq.is_none_or(|s| s > last));
    }

    /// The newest seq among them.
    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.items.iter().rev().find_map(|(_, seq)| *seq)
    }

    /// Every entry decoded, for a consumer that needs entries after all.
    pub fn into_entries(self) -> Vec<LogEntry> {
        let text = self.frame.as_str();
        self.items
            .into_iter()
            .filter_map(|(item, _)| match item {
                // Read flat, so it decodes: a flat line is one the full decoder reads.
                Item::Flat(range) => serde_json::from_str(&text[range]).ok(),
                Item::Decoded(entry) => Some(entry),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn frame(entries: &[&str]) -> Utf8Bytes {
        format!(r#"{{"type":"entries","entries":[{}]}}"#, entries.join(",")).into()
    }

    const FLAT: &str = r#"{"timestamp":"2026-02-05T18:00:00.123Z","level":"warn","source":"api","message":"GET /x 200","meta":{"status":200},"seq":7}"#;
    const ESCAPED: &str = r#"{"timestamp":"2026-02-05T18:00:00.124Z","level":"info","source":"api","message":"said \"hi\"\nthen left","seq":8}"#;
    const NESTED: &str = r#"{"timestamp":"2026-02-05T18:00:00.125Z","level":"error","source":"db","message":"é","meta":{"q":{"a":[1,2.5]}},"seq":9}"#;

    #[test]
    fn compact_entries_pass_as_their_text_and_the_rest_are_decoded() {
        let entries = JsonEntries::read(frame(&[FLAT, ESCAPED, NESTED])).unwrap();
        let passed: Vec<Passed<'_>> = entries.iter().collect();
        assert!(matches!(passed[0], Passed::Flat(text) if text == FLAT));
        assert!(matches!(passed[1], Passed::Entry(e) if e.message == "said \"hi\"\nthen left"));
        assert!(matches!(passed[2], Passed::Entry(e) if e.level == Level::Error));
        assert_eq!(entries.last_seq(), Some(9));
        // The text passed on is what serializing its entry gives.
        let decoded = entries.into_entries();
        assert_eq!(decoded.len(), 3);
        assert_eq!(serde_json::to_string(&decoded[0]).unwrap(), FLAT);
        assert_eq!(serde_json::to_string(&decoded[1]).unwrap(), ESCAPED);
    }

    #[test]
    fn seqs_already_had_are_dropped() {
        let mut entries = JsonEntries::read(frame(&[FLAT, ESCAPED, NESTED])).unwrap();
        entries.retain_after(8);
        assert_eq!(entries.len(), 1);
        assert!(matches!(entries.iter().next(), Some(Passed::Entry(e)) if e.seq == Some(9)));
    }

    #[test]
    fn an_entry_that_does_not_decode_fails_the_frame_as_before() {
        let bad = r#"{"timestamp":"2026-02-05T18:00:00.123Z","level":"loud","source":"api","message":"x"}"#;
        let error = JsonEntries::read(frame(&[FLAT, bad])).unwrap_err();
        assert!(error.to_string().contains("unreadable frame"), "{error}");
        assert!(JsonEntries::read(r#"{"type":"entries","entries":{}}"#.into()).is_err());
    }
}
