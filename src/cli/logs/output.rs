//! Buffered stdout for `vg logs`: display lines or NDJSON, written in large chunks.

use std::io::Write;

use chrono::{DateTime, Utc};

use crate::format::LineFormatter;
use crate::model::LogEntry;

/// Above this many buffered bytes the buffer is written out even while entries keep coming.
const CHUNK: usize = 64 * 1024;

/// Proof that an entry went into the buffer.
pub(super) struct Written;

/// Formats entries into one reusable buffer and writes it to stdout in chunks.
pub(super) struct Output {
    json: bool,
    formatter: LineFormatter,
    /// NDJSON waiting to be written.
    buffer: Vec<u8>,
    /// Display lines waiting to be written: formatted in place, not copied from a line buffer.
    lines: String,
    stdout: std::io::Stdout,
}

impl Output {
    pub(super) fn new(json: bool, formatter: LineFormatter) -> Output {
        Output {
            json,
            formatter,
            buffer: Vec::with_capacity(if json { CHUNK * 2 } else { 0 }),
            lines: String::with_capacity(if json { 0 } else { CHUNK * 2 }),
            stdout: std::io::stdout(),
        }
    }

    /// Adds one entry; NDJSON keeps the raw data, display lines are sanitized by the formatter.
    pub(super) fn write(
        &mut self,
        entry: &LogEntry,
        now: DateTime<Utc>,
    ) -> std::io::Result<Written> {
        if self.json {
            serde_json::to_writer(&mut self.buffer, entry)?;
            self.buffer.push(b'\n');
        } else {
            self.formatter.write(&mut self.lines, entry, now);
            self.lines.push('\n');
        }
        if self.buffer.len() >= CHUNK || self.lines.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(Written)
    }

    /// Adds one entry's JSON as the server wrote it (`--json` only; see `client::Passed`).
    pub(super) fn write_json_text(&mut self, json: &str) -> std::io::Result<Written> {
        debug_assert!(self.json, "JSON text goes only to NDJSON output");
        self.buffer.extend_from_slice(json.as_bytes());
        self.buffer.push(b'\n');
        if self.buffer.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(Written)
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        let result = if !self.buffer.is_empty() {
            self.stdout.write_all(&self.buffer)
        } else if !self.lines.is_empty() {
            self.stdout.write_all(self.lines.as_bytes())
        } else {
            Ok(())
        };
        self.buffer.clear();
        self.lines.clear();
        result
    }

    /// Writes everything buffered and flushes stdout.
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.stdout.flush()
    }
}
