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
    buffer: Vec<u8>,
    line: String,
    stdout: std::io::Stdout,
}

impl Output {
    pub(super) fn new(json: bool, formatter: LineFormatter) -> Output {
        Output {
            json,
            formatter,
            buffer: Vec::with_capacity(CHUNK * 2),
            line: String::with_capacity(512),
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
        } else {
            self.line.clear();
            self.formatter.write(&mut self.line, entry, now);
            self.buffer.extend_from_slice(self.line.as_bytes());
        }
        self.buffer.push(b'\n');
        if self.buffer.len() >= CHUNK {
            self.write_out()?;
        }
        Ok(Written)
    }

    fn write_out(&mut self) -> std::io::Result<()> {
        if !self.buffer.is_empty() {
            let result = self.stdout.write_all(&self.buffer);
            self.buffer.clear();
            result?;
        }
        Ok(())
    }

    /// Writes everything buffered and flushes stdout.
    pub(super) fn flush(&mut self) -> std::io::Result<()> {
        self.write_out()?;
        self.stdout.flush()
    }
}
