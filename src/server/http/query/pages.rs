//! The body of a `GET /api/logs` answer, read from history a few entries at a time as the client
//! takes it, never built whole.
//!
//! hyper asks for the next piece only once the previous one is on its way to the socket, so what a
//! query holds is one piece plus the socket's buffers, however large the answer; a client that stops
//! reading holds that much until the write timeout closes its connection. The query's permit lives
//! in the body, so the limit on concurrent queries counts answers still being sent.

use std::sync::Arc;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::OwnedSemaphorePermit;

use crate::filter::Filter;
use crate::server::store::{History, Pager, past_window};

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

    fn close(&mut self, out: &mut BytesMut) {
        self.done = true;
        if self.framing == Framing::Array {
            out.put_slice(if self.first { b"[]" } else { b"]" });
        }
    }
}

impl Iterator for Pages {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        let mut out = BytesMut::new();
        if self.left == 0 || self.next > self.to {
            self.close(&mut out);
            return Some(out.freeze());
        }
        let entries = self.pager.forward(&*self.history, self.next, self.to);
        let Some(last) = entries.last().and_then(|e| e.seq) else {
            self.close(&mut out);
            return Some(out.freeze());
        };
        self.next = last + 1;
        for entry in &entries {
            if past_window(&self.filter, entry) {
                // A forward read stops at the first entry past `until`.
                self.close(&mut out);
                return Some(out.freeze());
            }
            if !self.filter.matches(entry) {
                continue;
            }
            if self.left == 0 {
                break;
            }
            self.left -= 1;
            match self.framing {
                Framing::Array => out.put_u8(if self.first { b'[' } else { b',' }),
                Framing::Lines => {}
            }
            self.first = false;
            let mut writer = (&mut out).writer();
            serde_json::to_writer(&mut writer, &**entry).expect("a LogEntry always serializes");
            if self.framing == Framing::Lines {
                out.put_u8(b'\n');
            }
        }
        // An empty piece (nothing matched) is skipped by hyper; the next call reads on.
        Some(out.freeze())
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
