//! Lines of bytes into entries: repairing what is damaged, and joining continuation lines (a Java
//! stack trace's `\tat ...`, `Caused by:`, Python's `Traceback (most recent call last):` block) to
//! the entry they belong to, so one exception is one entry and not forty.
//!
//! Joining means the last entry is held until the next line shows it is complete. A reader that
//! may wait for input (a followed file, a pipe) flushes the held entry once the input has been quiet
//! for [`JOIN_IDLE`], so the last line of a quiet stream is never held back for long.

use std::borrow::Cow;
use std::time::Duration;

use super::{MAX_LINE_BYTES, decode_line};
use crate::model::{LogEntry, TRUNCATED_KEY};

/// Continuation lines joined to one entry at most, counting its first line; the next one starts a
/// new entry (nothing is dropped).
pub const MAX_JOINED_LINES: usize = 500;
/// Bytes of message one joined entry holds at most; a continuation line that would pass it starts a
/// new entry instead.
pub const MAX_JOINED_BYTES: usize = 256 * 1024;
/// How long a reader waits for a continuation line before it lets the held entry go.
pub const JOIN_IDLE: Duration = Duration::from_millis(200);

const TRACEBACK: &str = "Traceback (most recent call last):";
/// Python's lines between the tracebacks of chained exceptions.
const CHAINED: &[&str] = &[
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
];

/// Reads lines of bytes, counting what it could not read cleanly. Never fails: damaged lines are kept
/// (lossily converted, or cut at [`MAX_LINE_BYTES`]) and counted so the caller can report them.
#[derive(Debug, Default)]
pub struct LineDecoder {
    /// Lines that were invalid UTF-8 or too long.
    pub damaged: u64,
    /// Lines decoded in total.
    pub lines: u64,
    /// The last entry, which continuation lines may still join (only with [`LineDecoder::push`]).
    held: Option<Held>,
}

#[derive(Debug)]
struct Held {
    entry: Pending,
    lines: usize,
    /// Inside a Python traceback, whose last line (`ValueError: bad`) is not indented.
    traceback: bool,
}

/// The held entry, or the text of a line the caller refused before it was decoded: it is decoded
/// only if a continuation line joins it (the joined message may then pass the caller's test).
#[derive(Debug)]
enum Pending {
    Decoded(LogEntry),
    Refused(String),
}

impl Pending {
    /// The entry, decoding a refused line now (with the source of the stream it came in).
    fn decoded(&mut self, default_source: &str) -> &mut LogEntry {
        if let Pending::Refused(text) = self {
            *self = Pending::Decoded(LineDecoder::entry(text, false, default_source));
        }
        match self {
            Pending::Decoded(entry) => entry,
            Pending::Refused(_) => unreachable!("decoded just above"),
        }
    }

    fn into_entry(self) -> Option<LogEntry> {
        match self {
            Pending::Decoded(entry) => Some(entry),
            Pending::Refused(_) => None,
        }
    }
}

impl LineDecoder {
    /// Decodes one line of raw bytes on its own (no joining); returns `None` for a blank line.
    pub fn decode(&mut self, bytes: &[u8], default_source: &str) -> Option<LogEntry> {
        let (text, cut) = self.text(bytes)?;
        Some(Self::entry(&text, cut, default_source))
    }

    /// Takes the next line of a stream: a continuation joins the held entry; any other line is held
    /// in its place and the entry it completes is returned. Blank lines are skipped.
    pub fn push(&mut self, bytes: &[u8], default_source: &str) -> Option<LogEntry> {
        self.push_unless(bytes, default_source, |_| false)
    }

    /// [`LineDecoder::push`], except that a line starting an entry that `refuse` turns down (given
    /// the line's text) is not decoded, and the entry is never returned, unless continuation lines
    /// join it: then it is decoded after all and returned whole, for the caller to test again.
    /// This is how a reader with a filter skips the cost of building entries it would drop.
    pub fn push_unless(
        &mut self,
        bytes: &[u8],
        default_source: &str,
        refuse: impl FnOnce(&str) -> bool,
    ) -> Option<LogEntry> {
        let (text, cut) = self.text(bytes)?;
        if let Some(held) = &mut self.held
            && let Some(traceback) = continues(&text, held.traceback)
            && held.lines < MAX_JOINED_LINES
        {
            let entry = held.entry.decoded(default_source);
            if entry.message.len() + 1 + text.len() <= MAX_JOINED_BYTES {
                entry.message.push('\n');
                entry.message.push_str(&text);
                held.lines += 1;
                held.traceback = traceback;
                if cut {
                    entry.meta.insert(TRUNCATED_KEY, true);
                }
                return None;
            }
        }
        let traceback = text.starts_with(TRACEBACK);
        let entry = if !cut && refuse(&text) {
            Pending::Refused(text.into_owned())
        } else {
            Pending::Decoded(Self::entry(&text, cut, default_source))
        };
        let next = Held {
            entry,
            lines: 1,
            traceback,
        };
        self.held
            .replace(next)
            .and_then(|held| held.entry.into_entry())
    }

    /// Lets the held entry go: the input ended, or has been quiet for [`JOIN_IDLE`].
    pub fn flush(&mut self) -> Option<LogEntry> {
        self.held.take().and_then(|held| held.entry.into_entry())
    }

    /// Whether `text` (a line that starts with `{`, say) would join the held entry rather than
    /// start one of its own; it may say yes to a line the byte limit would then turn away.
    pub fn takes(&self, text: &str) -> bool {
        self.held.as_ref().is_some_and(|held| {
            held.lines < MAX_JOINED_LINES && continues(text, held.traceback).is_some()
        })
    }

    /// Whether an entry is held for continuation lines.
    pub fn holding(&self) -> bool {
        self.held.is_some()
    }

    /// The line as text, without its line end and byte-order mark, cut to [`MAX_LINE_BYTES`] and
    /// repaired if it is not UTF-8; with whether it was cut. `None` for a blank line.
    fn text<'b>(&mut self, bytes: &'b [u8]) -> Option<(Cow<'b, str>, bool)> {
        // A byte-order mark (files saved by some Windows editors) is not content.
        let bytes = trim_line_end(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        self.lines += 1;
        let cut = bytes.len() > MAX_LINE_BYTES;
        let mut damaged = cut;
        let bytes = &bytes[..bytes.len().min(MAX_LINE_BYTES)];
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => Cow::Borrowed(text),
            Err(_) => {
                damaged = true;
                String::from_utf8_lossy(bytes)
            }
        };
        self.damaged += u64::from(damaged);
        Some((text, cut))
    }

    fn entry(text: &str, cut: bool, default_source: &str) -> LogEntry {
        let mut entry = decode_line(text, default_source).0;
        if cut {
            // Said on the entry itself, so whoever reads it knows the rest is missing.
            entry.meta.insert(TRUNCATED_KEY, true);
        }
        entry
    }
}

/// Finds where a stream of lines may be cut so that the pieces, each decoded by a [`LineDecoder`]
/// of its own and flushed at its end, give the same entries as one decoder reading them all: before
/// a line that starts a new entry whatever the decoder holds. It follows a Python traceback as
/// the decoder does, erring towards "may continue" (a joined entry that reached its limits), which
/// only costs a cut point.
#[derive(Debug, Default)]
pub struct EntryStarts {
    /// A Python traceback may be open.
    traceback: bool,
}

impl EntryStarts {
    /// Takes the next line (blank ones included); `true` when a cut may go before it.
    pub fn next(&mut self, bytes: &[u8]) -> bool {
        let bytes = trim_line_end(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes));
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // Skipped by the decoder: the entry above may still be continued after it.
            return false;
        }
        // A JSON object at the line's start (most lines): an entry of its own unless a traceback
        // is open, which it would end.
        if bytes[0] == b'{' && !self.traceback {
            return true;
        }
        // Only the line's head decides; one that is not UTF-8 there is never a cut point.
        let head = &bytes[..bytes.len().min(HEAD_BYTES)];
        let text = match std::str::from_utf8(head) {
            Ok(text) => text,
            Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default(),
        };
        if text.is_empty() {
            return false;
        }
        match continues(text, self.traceback) {
            Some(traceback) => {
                self.traceback = traceback;
                false
            }
            None => {
                self.traceback = text.starts_with(TRACEBACK);
                true
            }
        }
    }
}

/// Whether `next`, the line after a line that starts an entry (and no Python traceback), may join
/// that entry: it continues it, or it is blank (skipped, so the line after it decides), or its
/// head is not UTF-8. A reader looking ahead knows from a `false` that the entry is complete.
pub fn may_continue(next: &[u8]) -> bool {
    let bytes = trim_line_end(next.strip_prefix(b"\xef\xbb\xbf").unwrap_or(next));
    let head = &bytes[..bytes.len().min(HEAD_BYTES)];
    match std::str::from_utf8(head) {
        Ok(text) if !text.trim_start().is_empty() => continues(text, false).is_some(),
        _ => true,
    }
}

/// How much of a line's start decides whether it continues an entry: more than the longest prefix
/// [`continues`] looks for. Past it, an indented line counts as a continuation, which only ever
/// holds an entry longer than needed.
const HEAD_BYTES: usize = 128;

/// Whether `line` continues the entry above, and if so whether a Python traceback is still open
/// after it. `traceback`: one was open before it.
fn continues(line: &str, traceback: bool) -> Option<bool> {
    match line.as_bytes()[0] {
        // Indented: stack frames, `\t... 12 more`, wrapped text. An indented JSON object is an
        // entry of its own.
        b' ' | b'\t' => (!line.trim_start().starts_with('{')).then_some(traceback),
        _ if line.starts_with(TRACEBACK) || CHAINED.iter().any(|c| line.starts_with(c)) => {
            Some(true)
        }
        _ if line.starts_with("at ")
            || line.starts_with("Caused by:")
            || line.starts_with("...") =>
        {
            Some(traceback)
        }
        // A traceback ends with the exception's line, not indented: `ValueError: bad`.
        _ if traceback => Some(false),
        _ => None,
    }
}

fn trim_line_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = bytes {
        bytes = rest;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;
    use serde_json::Value;

    /// Every entry a stream of lines becomes, flushed at its end.
    fn joined(input: &str) -> Vec<LogEntry> {
        let mut decoder = LineDecoder::default();
        let mut out: Vec<LogEntry> = input
            .split_inclusive('\n')
            .filter_map(|line| decoder.push(line.as_bytes(), "s"))
            .collect();
        out.extend(decoder.flush());
        out
    }

    fn messages(input: &str) -> Vec<String> {
        joined(input).into_iter().map(|e| e.message).collect()
    }

    #[test]
    fn a_refused_line_is_dropped_undecoded_unless_lines_join_it() {
        let input = "\
{\"timestamp\":\"2026-02-05T18:00:00.000Z\",\"level\":\"info\",\"source\":\"a\",\"message\":\"alone\"}
{\"timestamp\":\"2026-02-05T18:00:01.000Z\",\"level\":\"info\",\"source\":\"a\",\"message\":\"failed\"}
\tat com.example.App.handle(App.java:42)
{\"timestamp\":\"2026-02-05T18:00:02.000Z\",\"level\":\"error\",\"source\":\"a\",\"message\":\"kept\"}
{\"timestamp\":\"2026-02-05T18:00:03.000Z\",\"level\":\"info\",\"source\":\"a\",\"message\":\"last\"}
";
        let mut decoder = LineDecoder::default();
        let mut refused = Vec::new();
        let mut out: Vec<LogEntry> = input
            .split_inclusive('\n')
            .filter_map(|line| {
                decoder.push_unless(line.as_bytes(), "s", |text| {
                    refused.push(text.len());
                    !text.contains("error")
                })
            })
            .collect();
        out.extend(decoder.flush());
        let messages: Vec<&str> = out.iter().map(|e| e.message.as_str()).collect();
        // "alone" and "last" never became entries; "failed" did once a frame joined it, whole.
        assert_eq!(
            messages,
            ["failed\n\tat com.example.App.handle(App.java:42)", "kept"]
        );
        // Asked only about lines that start entries.
        assert_eq!(refused.len(), 4);
    }

    #[test]
    fn a_java_stack_trace_is_one_entry() {
        let input = "\
2026-02-05 18:13:38,123 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: boom
\tat com.example.App.handle(App.java:42)
\tat com.example.App.main(App.java:10)
Caused by: java.io.IOException: broken pipe
\tat java.base/sun.nio.ch.IOUtil.write(IOUtil.java:65)
\t... 2 more
2026-02-05 18:13:39,000 INFO  [main] c.e.App - recovered
";
        let entries = joined(input);
        assert_eq!(entries.len(), 3, "{entries:#?}");
        // The exception's own line names no level and is not indented: an entry of its own, and
        // the frames below join it.
        assert_eq!(
            entries[1].message,
            "java.lang.IllegalStateException: boom\n\tat com.example.App.handle(App.java:42)\n\tat com.example.App.main(App.java:10)\nCaused by: java.io.IOException: broken pipe\n\tat java.base/sun.nio.ch.IOUtil.write(IOUtil.java:65)\n\t... 2 more"
        );
        assert_eq!(entries[0].level, Level::Error);
        assert_eq!(entries[2].level, Level::Info);
    }

    #[test]
    fn a_python_traceback_joins_the_line_that_logged_it() {
        let input = "\
ERROR:root:payment failed
Traceback (most recent call last):
  File \"app.py\", line 3, in <module>
    pay()
KeyError: 'card'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File \"app.py\", line 5, in <module>
ValueError: no card
INFO:root:next request
";
        let entries = joined(input);
        assert_eq!(
            entries.iter().map(|e| e.level).collect::<Vec<_>>(),
            [Level::Error, Level::Info]
        );
        assert_eq!(
            entries[0].message,
            "ERROR:root:payment failed\nTraceback (most recent call last):\n  File \"app.py\", line 3, in <module>\n    pay()\nKeyError: 'card'\nDuring handling of the above exception, another exception occurred:\nTraceback (most recent call last):\n  File \"app.py\", line 5, in <module>\nValueError: no card"
        );
    }

    #[test]
    fn node_frames_and_dots_join_too() {
        assert_eq!(
            messages("Error: x\n    at f (a.js:1:2)\nat g (b.js:3:4)\n...\nnext\n"),
            [
                "Error: x\n    at f (a.js:1:2)\nat g (b.js:3:4)\n...",
                "next"
            ]
        );
    }

    #[test]
    fn ordinary_lines_and_json_stay_apart() {
        assert_eq!(
            messages("one\ntwo\n  {\"msg\":\"indented json\"}\nattempt 2\n"),
            ["one", "two", "indented json", "attempt 2"]
        );
        // A continuation with nothing above it is an entry of its own.
        assert_eq!(messages("\tat first\n"), ["\tat first"]);
    }

    #[test]
    fn joining_is_bounded_in_lines_and_bytes_and_loses_nothing() {
        let frames = "\tat frame\n".repeat(MAX_JOINED_LINES + 10);
        let entries = joined(&format!("boom\n{frames}"));
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].message.lines().count(), MAX_JOINED_LINES);
        assert_eq!(entries[1].message.lines().count(), 11);

        let wide = format!("\t{}\n", "x".repeat(100 * 1024));
        let entries = joined(&format!("boom\n{}", wide.repeat(3)));
        assert_eq!(
            entries
                .iter()
                .map(|e| e.message.lines().count())
                .collect::<Vec<_>>(),
            [3, 1]
        );
        assert!(entries.iter().all(|e| e.message.len() <= MAX_JOINED_BYTES));
    }

    #[test]
    fn a_cut_continuation_marks_the_entry() {
        let mut decoder = LineDecoder::default();
        assert!(decoder.push(b"boom\n", "s").is_none());
        let mut long = b"\t".to_vec();
        long.extend(vec![b'x'; MAX_LINE_BYTES + 5]);
        // Too long to join (over the byte bound): it starts an entry of its own, cut and marked.
        assert_eq!(decoder.push(&long, "s").unwrap().message, "boom");
        let cut = decoder.flush().unwrap();
        assert_eq!(cut.meta.get(TRUNCATED_KEY), Some(&Value::Bool(true)));
        assert!(!decoder.holding());
        assert_eq!((decoder.lines, decoder.damaged), (2, 1));
    }

    #[test]
    fn line_decoder_counts_damage_and_skips_blank_lines() {
        let mut decoder = LineDecoder::default();
        assert!(decoder.decode(b"  \r\n", "s").is_none());
        let e = decoder.decode(b"bad \xff byte\n", "s").unwrap();
        assert_eq!(e.message, "bad \u{fffd} byte");
        let long = vec![b'a'; MAX_LINE_BYTES + 10];
        let cut = decoder.decode(&long, "s").unwrap();
        assert_eq!(cut.message.len(), MAX_LINE_BYTES);
        assert_eq!(cut.meta.get("vgTruncated"), Some(&Value::Bool(true)));
        assert_eq!((decoder.lines, decoder.damaged), (2, 2));
    }
}
