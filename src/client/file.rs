//! Files and stdin: lines in, batches of entries out, on a blocking thread.
//!
//! Batches are flushed when full or when the reader has nothing more buffered, so a trickle from a pipe
//! shows up at once while a large file moves in big batches. A followed file is polled: a line still
//! being written (no newline yet) waits for its end, a truncated file is read again from the start, and
//! a rotated one (a new file at the same path) is finished and then replaced by the new one.
//!
//! The viewer's filter runs here, on the reader's thread, as each entry is decoded: an entry it
//! drops is never queued, formatted or held, so `--level`/`--grep` on a large file cost the decode
//! and nothing more (the viewer filters again; a filter it can change, as the TUI's level and
//! search, is not given to the reader).
//!
//! `vg logs` reads a whole file (not followed) or stdin without batches of entries when nothing
//! needs the entries after they are shown: [`chunks`] decodes, filters and formats on every core.

pub(crate) mod chunks;

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

use tokio::sync::mpsc::Sender;

use super::{ConnState, SourceEvent, SourceKind};
use crate::filter::Filter;
use crate::model::LogEntry;
use crate::model::decode::{JOIN_IDLE, LineDecoder};

/// A batch is sent when it holds this many entries or this many bytes of lines, whichever comes
/// first: the bytes bound what the queue to the viewer holds (a few batches) whatever the line length.
const BATCH: usize = 1024;
const BATCH_BYTES: usize = 32 * 1024;
const FOLLOW_POLL: Duration = Duration::from_millis(200);
const READ_BUFFER: usize = 256 * 1024;

/// Waits up to the given time for input to be readable; `false` when it stayed quiet.
type WaitReadable<'a> = &'a dyn Fn(Duration) -> bool;

/// Turns a byte stream into batches of entries, keeping an unfinished last line for later, and the
/// last entry until continuation lines cannot join it any more.
struct LinePump<'a> {
    source: String,
    decoder: LineDecoder,
    /// Bytes of a line whose newline has not arrived yet.
    line: Vec<u8>,
    tx: &'a Sender<SourceEvent>,
    /// For a reader whose reads block (a pipe): how to wait for input without blocking, so the
    /// held entry goes out once the input has been quiet for [`JOIN_IDLE`].
    wait: Option<WaitReadable<'a>>,
    /// When input last arrived, for readers without `wait` (a followed file is polled).
    last_input: Instant,
    /// What the viewer keeps; the rest is dropped as soon as it is decoded.
    filter: &'a Filter,
}

/// What stopped a pump.
#[derive(Debug, PartialEq, Eq)]
enum Pumped {
    /// Reached the end of what is there now.
    Drained,
    /// The viewer is gone.
    Closed,
    /// The input cannot be read (a directory, an I/O error).
    Failed(String),
}

impl<'a> LinePump<'a> {
    fn new(source: &str, filter: &'a Filter, tx: &'a Sender<SourceEvent>) -> LinePump<'a> {
        LinePump {
            source: source.to_owned(),
            decoder: LineDecoder::default(),
            line: Vec::with_capacity(256),
            tx,
            wait: None,
            last_input: Instant::now(),
            filter,
        }
    }

    /// Sends the held entry if no input came for [`JOIN_IDLE`] (a followed file between polls).
    fn flush_if_quiet(&mut self) -> bool {
        if !self.decoder.holding() || self.last_input.elapsed() < JOIN_IDLE {
            return true;
        }
        match keep(self.filter, self.decoder.flush()) {
            Some(entry) => self
                .tx
                .blocking_send(SourceEvent::Entries(vec![entry]))
                .is_ok(),
            None => true,
        }
    }

    /// Reads to the current end. With `finish`, a last line without a newline is taken as complete
    /// (the input is over); otherwise it waits in `line` for the rest.
    fn pump(&mut self, reader: &mut BufReader<impl Read>, finish: bool) -> Pumped {
        let mut batch: Vec<LogEntry> = Vec::new();
        let mut batch_bytes = 0;
        let damaged_before = self.decoder.damaged;
        let mut got_input = false;
        let mut outcome = Pumped::Drained;
        loop {
            // About to block on a quiet pipe with an entry held: give continuation lines a moment,
            // then let the entry go rather than hold it until the next line, maybe hours away.
            if let Some(wait) = self.wait
                && reader.buffer().is_empty()
                && self.decoder.holding()
                && !wait(JOIN_IDLE)
            {
                batch.extend(keep(self.filter, self.decoder.flush()));
                let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                batch_bytes = 0;
                if self.tx.blocking_send(SourceEvent::Entries(full)).is_err() {
                    return Pumped::Closed;
                }
            }
            let read = match super::lines::read_line_capped(reader, &mut self.line) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    outcome = Pumped::Failed(e.to_string());
                    0
                }
            };
            let complete =
                self.line.ends_with(b"\n") || (read == 0 && finish && !self.line.is_empty());
            if complete {
                // Lines the filter refuses in vg's format are dropped without being decoded.
                let filter = self.filter;
                let refuse = |line: &str| filter.refuses_line(line);
                let entry = self.decoder.push_unless(&self.line, &self.source, refuse);
                batch.extend(keep(self.filter, entry));
                batch_bytes += self.line.len();
                self.line.clear();
            }
            if read > 0 {
                got_input = true;
            } else if finish {
                // The input is over: nothing more can join the held entry.
                batch.extend(keep(self.filter, self.decoder.flush()));
            }
            // Only what is already buffered counts: asking the reader for more would block on a quiet pipe.
            let idle = read == 0 || reader.buffer().is_empty();
            if (batch.len() >= BATCH || batch_bytes >= BATCH_BYTES || idle) && !batch.is_empty() {
                // Sized like the last one: no regrowth while a large file streams in similar batches.
                let sized = Vec::with_capacity(batch.len());
                let full = std::mem::replace(&mut batch, sized);
                batch_bytes = 0;
                if self.tx.blocking_send(SourceEvent::Entries(full)).is_err() {
                    return Pumped::Closed;
                }
            }
            if read == 0 {
                break;
            }
        }
        if got_input {
            self.last_input = Instant::now();
        }
        let damaged = self.decoder.damaged - damaged_before;
        if damaged > 0 {
            let note = format!(
                "{damaged} damaged line(s) (invalid UTF-8 or over 1 MiB) were repaired or cut"
            );
            if !self.notice(note) {
                return Pumped::Closed;
            }
        }
        outcome
    }

    fn notice(&self, text: String) -> bool {
        self.tx.blocking_send(SourceEvent::Notice(text)).is_ok()
    }
}

/// The entry, if the viewer's filter keeps it.
fn keep(filter: &Filter, entry: Option<LogEntry>) -> Option<LogEntry> {
    entry.filter(|e| filter.matches(e))
}

/// Which file a path names, to notice when rotation puts a new one there.
#[cfg(unix)]
fn identity(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn identity(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

fn open_reader(path: &Path) -> std::io::Result<(BufReader<File>, (u64, u64))> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if meta.is_dir() {
        return Err(std::io::Error::other("it is a directory"));
    }
    Ok((BufReader::with_capacity(READ_BUFFER, file), identity(&meta)))
}

/// How waiting for a file to appear ended.
enum Waited {
    Opened((BufReader<File>, (u64, u64))),
    /// The viewer is gone.
    Closed,
    /// The path appeared as something that cannot be read (a directory, no permission).
    Failed(std::io::Error),
}

/// Polls until `path` can be opened, having said once that it waits.
fn wait_for(path: &Path, target: &str, tx: &Sender<SourceEvent>) -> Waited {
    let said = SourceEvent::Notice(format!(
        "{target} does not exist yet; waiting for it to appear"
    ));
    if tx.blocking_send(said).is_err() {
        return Waited::Closed;
    }
    loop {
        std::thread::sleep(FOLLOW_POLL);
        if tx.is_closed() {
            return Waited::Closed;
        }
        match open_reader(path) {
            Ok(opened) => return Waited::Opened(opened),
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Waited::Failed(e),
        }
    }
}

/// Reads a file; with `follow`, keeps reading as it grows, through truncation and rotation, and
/// waits for it to appear when it does not exist yet.
pub(super) fn read_file(path: &Path, follow: bool, filter: &Filter, tx: &Sender<SourceEvent>) {
    let target = path.display().to_string();
    let source = path
        .file_stem()
        .map_or("file".into(), |s| s.to_string_lossy().into_owned());
    let failed = |reason: String| {
        let _ = tx.blocking_send(SourceEvent::Failed(format!(
            "cannot read {target}: {reason}"
        )));
    };
    let (mut reader, mut id) = match open_reader(path) {
        Ok(opened) => opened,
        // Following, like `tail -F`: a log that is not there yet (the app has not started) is
        // waited for, said once, then read from its start.
        Err(e) if follow && e.kind() == ErrorKind::NotFound => match wait_for(path, &target, tx) {
            Waited::Opened(opened) => opened,
            Waited::Closed => return,
            Waited::Failed(e) => return failed(e.to_string()),
        },
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return failed("no such file (to wait for it to appear, follow it with -f)".into());
        }
        Err(e) => return failed(e.to_string()),
    };
    let _ = tx.blocking_send(SourceEvent::State(ConnState::Connected {
        target: target.clone(),
        server: "file".into(),
    }));
    let mut pump = LinePump::new(&source, filter, tx);
    match pump.pump(&mut reader, !follow) {
        Pumped::Drained => {}
        Pumped::Closed => return,
        Pumped::Failed(reason) => return failed(reason),
    }
    if tx.blocking_send(SourceEvent::Live).is_err() {
        return;
    }
    if !follow {
        let _ = tx.blocking_send(SourceEvent::End);
        return;
    }
    loop {
        std::thread::sleep(FOLLOW_POLL);
        if tx.is_closed() {
            return;
        }
        // Between a rotation's rename and the new file's creation the path may be missing: wait.
        if let Ok(meta) = std::fs::metadata(path) {
            let position = reader.stream_position().unwrap_or(0);
            if identity(&meta) != id {
                // Rotated: finish the old file, then read the new one from its start.
                if pump.pump(&mut reader, true) == Pumped::Closed {
                    return;
                }
                match open_reader(path) {
                    Ok((new_reader, new_id)) => (reader, id) = (new_reader, new_id),
                    Err(_) => continue,
                }
                if !pump.notice(format!("{target} was rotated; reading the new file")) {
                    return;
                }
            } else if meta.len() < position {
                // Truncated in place (copytruncate): what was half-read belongs to the old contents.
                pump.line.clear();
                if reader.seek(SeekFrom::Start(0)).is_err()
                    || !pump.notice(format!("{target} was truncated; reading from the start"))
                {
                    return;
                }
            }
        }
        match pump.pump(&mut reader, false) {
            Pumped::Drained => {}
            Pumped::Closed => return,
            Pumped::Failed(reason) => return failed(reason),
        }
        if !pump.flush_if_quiet() {
            return;
        }
    }
}

/// Reads a whole file (not followed) or stdin to its end on every core, each worker formatting
/// with its own of `formats` (see [`chunks`]); an unreadable file fails with the line
/// [`read_file`] would send.
pub(crate) fn format_whole(
    kind: &SourceKind,
    filter: &Filter,
    formats: Vec<chunks::FormatEntry>,
) -> Result<chunks::Formatted, String> {
    match kind {
        SourceKind::File(path) => {
            let target = path.display();
            let (reader, _) = open_reader(path).map_err(|e| match e.kind() {
                ErrorKind::NotFound => format!(
                    "cannot read {target}: no such file (to wait for it to appear, follow it with -f)"
                ),
                _ => format!("cannot read {target}: {e}"),
            })?;
            let source = path
                .file_stem()
                .map_or("file".into(), |s| s.to_string_lossy().into_owned());
            Ok(chunks::spawn(
                move || reader,
                &source,
                None,
                filter,
                formats,
            ))
        }
        SourceKind::Stdin => Ok(chunks::spawn(
            || BufReader::with_capacity(READ_BUFFER, std::io::stdin()),
            "stdin",
            Some(super::lines::stdin_readable),
            filter,
            formats,
        )),
        SourceKind::Server { .. } => Err("a server is not read as a whole".into()),
    }
}

/// Reads stdin until it closes. Everything on stdin is live: it has no history to backfill.
pub(super) fn read_stdin(filter: &Filter, tx: &Sender<SourceEvent>) {
    let _ = tx.blocking_send(SourceEvent::State(ConnState::Connected {
        target: "stdin".into(),
        server: "stdin".into(),
    }));
    let _ = tx.blocking_send(SourceEvent::Live);
    let mut reader = BufReader::with_capacity(READ_BUFFER, std::io::stdin().lock());
    read_stream(
        &mut reader,
        "stdin",
        &super::lines::stdin_readable,
        filter,
        tx,
    );
}

/// Reads any stream of lines to its end, then sends `End`. `wait` waits for the stream to have
/// input (see [`WaitReadable`]).
pub(super) fn read_stream(
    reader: &mut BufReader<impl Read>,
    source: &str,
    wait: WaitReadable<'_>,
    filter: &Filter,
    tx: &Sender<SourceEvent>,
) {
    let mut pump = LinePump::new(source, filter, tx);
    pump.wait = Some(wait);
    match pump.pump(reader, true) {
        Pumped::Drained => {
            let _ = tx.blocking_send(SourceEvent::End);
        }
        Pumped::Closed => {}
        Pumped::Failed(reason) => {
            let _ = tx.blocking_send(SourceEvent::Failed(format!(
                "cannot read {source}: {reason}"
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use tokio::sync::mpsc;

    fn drain(rx: &mut mpsc::Receiver<SourceEvent>) -> Vec<SourceEvent> {
        std::iter::from_fn(|| rx.blocking_recv()).collect()
    }

    fn messages(events: &[SourceEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                SourceEvent::Entries(batch) => Some(batch.iter().map(|e| e.message.clone())),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn a_stream_becomes_entries_then_end() {
        let (tx, mut rx) = mpsc::channel(16);
        let input = b"{\"msg\":\"json\",\"level\":\"warn\"}\nplain text\n\n\xffbad\n".to_vec();
        std::thread::spawn(move || {
            read_stream(
                &mut BufReader::new(std::io::Cursor::new(input)),
                "s",
                &|_| true,
                &Filter::all(),
                &tx,
            )
        });
        let events = drain(&mut rx);
        assert_eq!(messages(&events), ["json", "plain text", "\u{fffd}bad"]);
        assert!(
            events
                .iter()
                .any(|e| matches!(e, SourceEvent::Notice(n) if n.starts_with("1 damaged line")))
        );
        assert_eq!(events.last(), Some(&SourceEvent::End));
    }

    #[test]
    fn what_the_filter_drops_is_never_sent_and_a_held_entry_is_judged_whole() {
        let (tx, mut rx) = mpsc::channel(16);
        let input = concat!(
            "{\"msg\":\"kept\",\"level\":\"error\"}\n",
            "{\"msg\":\"dropped\",\"level\":\"info\"}\n",
            "2026-02-05T18:00:00Z ERROR boom\n",
            "    at frame one\n",
        )
        .as_bytes()
        .to_vec();
        let filter = crate::filter::FilterSpec {
            level: Some("error".into()),
            ..Default::default()
        }
        .compile(chrono::Utc::now())
        .unwrap();
        std::thread::spawn(move || {
            read_stream(
                &mut BufReader::new(std::io::Cursor::new(input)),
                "s",
                &|_| true,
                &filter,
                &tx,
            )
        });
        let events = drain(&mut rx);
        let entries: Vec<&LogEntry> = events
            .iter()
            .filter_map(|e| match e {
                SourceEvent::Entries(batch) => Some(batch.iter()),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(entries.len(), 2, "{entries:?}");
        assert_eq!(entries[0].message, "kept");
        // The stack trace joined the entry before the filter saw it.
        assert_eq!(
            entries[1].message,
            "2026-02-05T18:00:00Z ERROR boom\n    at frame one"
        );
        assert_eq!(events.last(), Some(&SourceEvent::End));
    }

    #[test]
    fn a_missing_file_fails_with_its_path() {
        let (tx, mut rx) = mpsc::channel(16);
        read_file(Path::new("/nonexistent/x.log"), false, &Filter::all(), &tx);
        drop(tx);
        let events = drain(&mut rx);
        assert!(
            matches!(&events[0], SourceEvent::Failed(m) if m.starts_with("cannot read /nonexistent/x.log"))
        );
    }

    #[test]
    fn a_followed_file_that_does_not_exist_yet_is_waited_for() {
        let dir = std::env::temp_dir().join(format!("vg-wait-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("later.log");
        let (tx, mut rx) = mpsc::channel(16);
        let reader_path = path.clone();
        std::thread::spawn(move || read_file(&reader_path, true, &Filter::all(), &tx));
        // Bounded, so a reader that gave up fails the test instead of hanging it.
        let next = |rx: &mut mpsc::Receiver<SourceEvent>| {
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                if let Ok(event) = rx.try_recv() {
                    return event;
                }
                assert!(std::time::Instant::now() < deadline, "no event");
                std::thread::sleep(Duration::from_millis(10));
            }
        };
        let said = next(&mut rx);
        assert!(
            matches!(&said, SourceEvent::Notice(n) if n.ends_with("later.log does not exist yet; waiting for it to appear")),
            "{said:?}"
        );
        std::fs::write(&path, "first\n").unwrap();
        let seen = loop {
            match next(&mut rx) {
                SourceEvent::Entries(batch) => break batch,
                SourceEvent::Failed(reason) => panic!("{reason}"),
                _ => {}
            }
        };
        assert_eq!(seen[0].message, "first");
        drop(rx);
        assert!(std::fs::remove_dir_all(&dir).is_ok());
    }

    #[test]
    fn a_followed_file_delivers_what_is_appended() {
        let dir = std::env::temp_dir().join(format!("vg-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.log");
        std::fs::write(&path, "first\n").unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let reader_path = path.clone();
        std::thread::spawn(move || read_file(&reader_path, true, &Filter::all(), &tx));
        let mut seen = Vec::new();
        // Bounded in time so a broken follow fails the test instead of hanging it.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            let Ok(event) = rx.try_recv() else {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            };
            match event {
                SourceEvent::Live => {
                    let mut f = std::fs::OpenOptions::new()
                        .append(true)
                        .open(&path)
                        .unwrap();
                    writeln!(f, "second").unwrap();
                }
                SourceEvent::Entries(batch) => {
                    seen.extend(batch.into_iter().map(|e| e.message));
                    if seen.len() == 2 {
                        break;
                    }
                }
                _ => {}
            }
        }
        drop(rx);
        assert_eq!(seen, ["first", "second"]);
        assert!(std::fs::remove_dir_all(&dir).is_ok());
    }
}
