//! Files and stdin: lines in, batches of entries out, on a blocking thread.
//!
//! Batches are flushed when full or when the reader has nothing more buffered, so a trickle from a pipe
//! shows up at once while a large file moves in big batches.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;
use std::time::Duration;

use tokio::sync::mpsc::Sender;

use super::{ConnState, SourceEvent};
use crate::model::LogEntry;
use crate::model::decode::LineDecoder;

const BATCH: usize = 1024;
const FOLLOW_POLL: Duration = Duration::from_millis(200);

/// Reads `reader` to its end, sending batches. Returns false when the receiver is gone.
fn pump(
    reader: &mut impl BufRead,
    source: &str,
    decoder: &mut LineDecoder,
    tx: &Sender<SourceEvent>,
) -> bool {
    let mut line = Vec::with_capacity(256);
    let mut batch: Vec<LogEntry> = Vec::with_capacity(BATCH);
    let damaged_before = decoder.damaged;
    loop {
        line.clear();
        let read = match reader.read_until(b'\n', &mut line) {
            Ok(n) => n,
            Err(e) => {
                let _ = tx.blocking_send(SourceEvent::Notice(format!("read error: {e}")));
                0
            }
        };
        if read > 0
            && let Some(entry) = decoder.decode(&line, source)
        {
            batch.push(entry);
        }
        let idle = read == 0 || reader.fill_buf().map(<[u8]>::is_empty).unwrap_or(true);
        if (batch.len() >= BATCH || idle) && !batch.is_empty() {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            if tx.blocking_send(SourceEvent::Entries(full)).is_err() {
                return false;
            }
        }
        if read == 0 {
            break;
        }
    }
    let damaged = decoder.damaged - damaged_before;
    if damaged > 0 {
        let note =
            format!("{damaged} damaged line(s) (invalid UTF-8 or over 1 MiB) were repaired or cut");
        return tx.blocking_send(SourceEvent::Notice(note)).is_ok();
    }
    true
}

/// Reads a file; with `follow`, keeps reading as it grows and starts over if it is truncated.
pub(super) fn read_file(path: &Path, follow: bool, tx: &Sender<SourceEvent>) {
    let target = path.display().to_string();
    let source = path
        .file_stem()
        .map_or("file".into(), |s| s.to_string_lossy().into_owned());
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) => {
            let _ = tx.blocking_send(SourceEvent::Failed(format!("cannot read {target}: {e}")));
            return;
        }
    };
    let _ = tx.blocking_send(SourceEvent::State(ConnState::Connected {
        target: target.clone(),
        server: "file".into(),
    }));
    let mut reader = BufReader::with_capacity(256 * 1024, file);
    let mut decoder = LineDecoder::default();
    if !pump(&mut reader, &source, &mut decoder, tx) || tx.blocking_send(SourceEvent::Live).is_err()
    {
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
        let position = reader.stream_position().unwrap_or(0);
        let length = std::fs::metadata(path).map(|m| m.len()).unwrap_or(position);
        if length < position {
            // Truncated (log rotation by copytruncate): read the new contents from the start.
            let _ = tx.blocking_send(SourceEvent::Notice(format!(
                "{target} was truncated; reading from the start"
            )));
            if reader.seek(SeekFrom::Start(0)).is_err() {
                return;
            }
        }
        if !pump(&mut reader, &source, &mut decoder, tx) {
            return;
        }
    }
}

/// Reads stdin until it closes. Everything on stdin is live: it has no history to backfill.
pub(super) fn read_stdin(tx: &Sender<SourceEvent>) {
    let _ = tx.blocking_send(SourceEvent::State(ConnState::Connected {
        target: "stdin".into(),
        server: "stdin".into(),
    }));
    let _ = tx.blocking_send(SourceEvent::Live);
    let mut reader = BufReader::with_capacity(256 * 1024, std::io::stdin().lock());
    read_stream(&mut reader, "stdin", tx);
}

/// Reads any stream of lines to its end, then sends `End`.
pub(super) fn read_stream(reader: &mut impl BufRead, source: &str, tx: &Sender<SourceEvent>) {
    let mut decoder = LineDecoder::default();
    if pump(reader, source, &mut decoder, tx) {
        let _ = tx.blocking_send(SourceEvent::End);
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
        std::thread::spawn(move || read_stream(&mut std::io::Cursor::new(input), "s", &tx));
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
    fn a_missing_file_fails_with_its_path() {
        let (tx, mut rx) = mpsc::channel(16);
        read_file(Path::new("/nonexistent/x.log"), false, &tx);
        drop(tx);
        let events = drain(&mut rx);
        assert!(
            matches!(&events[0], SourceEvent::Failed(m) if m.starts_with("cannot read /nonexistent/x.log"))
        );
    }

    #[test]
    fn a_followed_file_delivers_what_is_appended() {
        let dir = std::env::temp_dir().join(format!("vg-follow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("app.log");
        std::fs::write(&path, "first\n").unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let reader_path = path.clone();
        std::thread::spawn(move || read_file(&reader_path, true, &tx));
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
