//! The body of a `GET /api/logs` answer, read from history a few entries at a time as the client
//! takes it, never built whole.
//!
//! hyper asks for the next piece only once the previous one is on its way to the socket, so what a
//! query holds is one piece plus the socket's buffers, however large the answer; a client that stops
//! reading holds that much until the write timeout closes its connection. The query's permit lives
//! in the body, so the limit on concurrent queries counts answers still being sent.

use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::OwnedSemaphorePermit;

use crate::filter::Filter;
use crate::model::LogEntry;
use crate::server::store::{History, Pager, Records, past_window};

/// Bytes of entries (as history charges them) read per piece: few, because a piece is held while
/// the client reads it, and entries read from disk or evicted meanwhile are the piece's alone.
pub(crate) const PIECE_BYTES: usize = 256 * 1024;

/// How the entries are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// One JSON array.
    Array,
    /// One entry per line.
    Lines,
}

/// The matching entries of `from..=to`, at most `limit`, as pieces of the response body.
#[derive(Debug)]
pub(crate) struct Pages {
    history: Arc<dyn History>,
    filter: Filter,
    framing: Framing,
    next: u64,
    to: u64,
    left: usize,
    pager: Pager,
    /// No entry written yet (so no `,` before the next, and `[` still to open an array).
    first: bool,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

impl Pages {
    pub(crate) fn new(
        history: Arc<dyn History>,
        filter: Filter,
        framing: Framing,
        (from, to): (u64, u64),
        limit: usize,
        permit: OwnedSemaphorePermit,
    ) -> Pages {
        Pages {
            history,
            filter,
            framing,
            next: from.max(1),
            to: to.min(u64::MAX - 1),
            left: limit,
            pager: Pager::new(PIECE_BYTES),
            first: true,
            done: false,
            _permit: permit,
        }
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        self.done = true;
        if self.framing == Framing::Array {
            out.extend_from_slice(if self.first { b"[]" } else { b"]" });
        }
    }

    /// Adds one matching entry, written by `write` (which returns `false`, having written a part to
    /// cut off, for an entry that turns out not to be readable). `false` once `limit` are written.
    fn take(&mut self, out: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>) -> bool) -> bool {
        if self.left == 0 {
            return false;
        }
        let mark = out.len();
        match self.framing {
            Framing::Array => out.push(if self.first { b'[' } else { b',' }),
            Framing::Lines => {}
        }
        if !write(out) {
            out.truncate(mark);
            return true;
        }
        self.left -= 1;
        self.first = false;
        if self.framing == Framing::Lines {
            out.push(b'\n');
        }
        true
    }

    /// Adds `entries` that match; `false` once the window or `limit` is done.
    fn take_entries(&mut self, out: &mut Vec<u8>, entries: &[Arc<LogEntry>]) -> bool {
        for entry in entries {
            if past_window(&self.filter, entry) {
                // A forward read stops at the first entry past `until`.
                return false;
            }
            if self.filter.matches(entry)
                && !self.take(out, |out| {
                    serde_json::to_writer(out, &**entry).expect("a LogEntry always serializes");
                    true
                })
            {
                return false;
            }
        }
        true
    }

    /// [`Pages::take_entries`] for entries read from disk as stored: filtered on their fields and
    /// written from them, no `LogEntry` built (as a viewer's backfill does). One whose payload does
    /// not decode is left out, as a read of decoded entries leaves it out. Stored entries are
    /// smaller than their JSON, so the piece also ends once its JSON reaches [`PIECE_BYTES`]; the
    /// next piece reads on from there.
    fn take_stored(&mut self, out: &mut Vec<u8>, records: &Records) -> bool {
        for record in records.iter() {
            if out.len() >= PIECE_BYTES {
                self.next = record.seq();
                return true;
            }
            let Some(fields) = record.fields() else {
                // Stored as JSON (formats 1-2): decoded, as any entry.
                if let Some(entry) = record.entry()
                    && !self.take_entries(out, &[Arc::new(entry)])
                {
                    return false;
                }
                continue;
            };
            if self
                .filter
                .until()
                .is_some_and(|until| fields.timestamp > until)
            {
                return false;
            }
            if fields.passes(&self.filter) == Some(true)
                && !self.take(out, |out| fields.write_json(out))
            {
                return false;
            }
        }
        true
    }
}

impl Iterator for Pages {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = Vec::new();
        if self.left == 0 || self.next > self.to {
            self.close(&mut out);
            return Some(out.into());
        }
        let more = match self
            .pager
            .forward_stored(&*self.history, self.next, self.to)
        {
            Some(records) => {
                let Some(last) = records.last_seq() else {
                    self.close(&mut out);
                    return Some(out.into());
                };
                self.next = last + 1;
                self.take_stored(&mut out, &records)
            }
            None => {
                let entries = self.pager.forward(&*self.history, self.next, self.to);
                let Some(last) = entries.last().and_then(|e| e.seq) else {
                    self.close(&mut out);
                    return Some(out.into());
                };
                self.next = last + 1;
                self.take_entries(&mut out, &entries)
            }
        };
        if !more {
            self.close(&mut out);
        }
        // An empty piece (nothing matched) is skipped by hyper; the next call reads on.
        Some(out.into())
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;

    use super::*;
    use crate::model::Level;
    use crate::server::{Emitter, EmitterConfig};

    fn pages(emitter: &Emitter, query: &str, framing: Framing, last: bool, n: usize) -> String {
        let history = emitter.history();
        let (_, filter) =
            crate::wire::StreamQuery::parse_compiled(query, chrono::Utc::now()).unwrap();
        let newest = history.bounds().newest.unwrap_or(0);
        let from = if last {
            history
                .tail_start(&filter, 1, newest, n, PIECE_BYTES)
                .unwrap_or(1)
        } else {
            1
        };
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
        let pieces = Pages::new(history, filter, framing, (from, newest), n, permit);
        pieces
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
            .collect()
    }

    fn seqs(array: &str) -> Vec<u64> {
        let values: Vec<serde_json::Value> = serde_json::from_str(array).unwrap();
        values.iter().map(|v| v["seq"].as_u64().unwrap()).collect()
    }

    #[test]
    fn entries_read_from_disk_are_written_and_filtered_as_decoded_ones_are() {
        let dir = std::env::temp_dir().join(format!("vg-pages-disk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = || {
            EmitterConfig::default()
                .read_env(false)
                .disk(crate::server::DiskConfig::new(&dir))
        };
        {
            let emitter = Emitter::open(config()).unwrap();
            for i in 0..300u64 {
                let level = [Level::Info, Level::Warn, Level::Error][(i % 3) as usize];
                let message = match i % 4 {
                    0 => format!("GET /a/{i} 200"),
                    1 => format!("said \"hi\"\n{i}\u{1b}[2J é"),
                    2 => format!("日本 {i}"),
                    // Six bytes of JSON for each stored one: a piece ends on its JSON's size,
                    // mid-read.
                    _ => format!("slow {i} {}", "\u{1}".repeat(3000)),
                };
                let mut entry = LogEntry::new(level, "api", message);
                entry.meta.insert("duration", i as f64 / 4.0);
                entry
                    .meta
                    .insert("nested", serde_json::json!({"a": [i, null, "x"]}));
                emitter.emit(entry);
            }
            emitter.close();
        }
        // Started again on the data dir: every entry is read from disk, as stored.
        let emitter = Emitter::open(config()).unwrap();
        let history = emitter.history();
        assert!(history.forward_stored(1, 300, 10).is_some());
        for query in [
            "",
            "level=error",
            "q=slow",
            "where=duration%3E50",
            "source=db",
        ] {
            let (_, filter) =
                crate::wire::StreamQuery::parse_compiled(query, chrono::Utc::now()).unwrap();
            let mut want = String::new();
            for entry in history.forward(1, 300, 1000) {
                if filter.matches(&entry) {
                    want.push_str(&serde_json::to_string(&*entry).unwrap());
                    want.push('\n');
                }
            }
            assert_eq!(
                pages(&emitter, query, Framing::Lines, false, 1000),
                want,
                "{query}"
            );
        }
        let limited = pages(&emitter, "level=error", Framing::Array, false, 7);
        assert_eq!(seqs(&limited), vec![3, 6, 9, 12, 15, 18, 21]);
        drop(emitter);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pieces_make_one_array_or_one_line_per_entry_across_many_reads() {
        let emitter = Emitter::new(EmitterConfig::default().read_env(false));
        assert_eq!(pages(&emitter, "", Framing::Array, false, 10), "[]");
        for i in 0..300 {
            let level = if i % 3 == 0 {
                Level::Error
            } else {
                Level::Info
            };
            emitter.log(level, "t", format!("m{i}"));
        }
        let all = seqs(&pages(&emitter, "", Framing::Array, false, 1000));
        assert_eq!(all, (1..=300).collect::<Vec<_>>());
        // The newest 5 errors, oldest first, found over several pieces backwards.
        let errors = seqs(&pages(&emitter, "level=error", Framing::Array, true, 5));
        assert_eq!(errors, vec![286, 289, 292, 295, 298]);
        let lines = pages(&emitter, "level=error", Framing::Lines, false, 200);
        assert_eq!(lines.lines().count(), 100);
        assert!(lines.ends_with('\n'));
        assert_eq!(
            pages(&emitter, "level=fatal", Framing::Array, true, 5),
            "[]"
        );
    }
}
