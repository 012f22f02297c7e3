//! A whole file or stdin turned into display lines on every core, written in the input's order.
//!
//! One thread reads and cuts the input into chunks of lines, each cut before a line that starts a
//! new entry whatever came before it ([`EntryStarts`]), so multi-line joining gives the same entries
//! as one decoder would. Workers (one per core) decode, filter and format whole chunks: an entry is
//! allocated, formatted and freed on one thread and never queued, and only a chunk's text crosses to
//! the writer. Chunks go to workers in turn and the reader tells the writer whose turn each was, so
//! the writer takes results in the input's order without a reordering buffer.
//!
//! Memory is bounded in bytes: every queue holds one chunk (about [`CHUNK`] of input, or of output),
//! so a reader ahead of the writer holds a few chunks per worker, whatever the input's size. A run of
//! continuation lines with no cut point for [`HARD_CHUNK`] is sent anyway, marked to stay with the
//! same worker, whose decoder then carries the held entry into the next chunk.

use std::io::{BufReader, Read};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::client::lines::read_line_capped_onto;
use crate::filter::Filter;
use crate::model::LogEntry;
use crate::model::decode::{
    EntryStarts, FlatLine, JOIN_IDLE, LineDecoder, MAX_LINE_BYTES, may_continue,
};

/// Input bytes a chunk holds before it is cut at the next cut point.
const CHUNK: usize = 128 * 1024;
/// A chunk with no cut point this far is sent anyway, its last entry kept by its worker.
const HARD_CHUNK: usize = 2 * CHUNK;
/// The most workers, whatever the core count: beyond this the writer is the bottleneck.
const MAX_WORKERS: usize = 8;

/// Turns one kept entry into display text (appended to the string); `now` is read once per chunk.
pub(crate) type FormatEntry = Box<dyn FnMut(Kept<'_>, DateTime<Utc>, &mut String) + Send>;

/// An entry a worker keeps: decoded, or a line read flat (vg's own compact lines, most of them),
/// which shows the same without being decoded.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Kept<'a> {
    Entry(&'a LogEntry),
    Flat(&'a FlatLine<'a>),
}

/// Waits up to the given time for the input to be readable; `false` when it stayed quiet.
pub(crate) type Quiet = fn(Duration) -> bool;

/// A chunk of whole lines for one worker.
struct Job {
    lines: Vec<u8>,
    /// The next chunk starts a new entry: the held entry is complete at the chunk's end.
    ends_entry: bool,
}

/// What a worker made of one chunk.
struct Done {
    text: String,
    /// Lines repaired or cut (invalid UTF-8, over the line limit).
    damaged: u64,
}

/// Whose result comes next, in the input's order.
enum Turn {
    Worker(usize),
    /// The input could not be read further; everything before it has been handed out.
    Failed(String),
}

/// The next piece of output, in the input's order.
#[derive(Debug)]
pub(crate) enum Next {
    /// Display lines for a chunk, and how many of its lines were damaged.
    Text(String, u64),
    /// Nothing arrived within the wait (a quiet pipe).
    Quiet,
    /// Reading failed with this reason after everything before it.
    Failed(String),
    /// The input is over and everything has been handed out.
    End,
}

/// The ordered output of a running parallel read; dropping it stops the reader and the workers.
pub(crate) struct Formatted {
    turns: Receiver<Turn>,
    results: Vec<Receiver<Done>>,
}

impl Formatted {
    /// Waits up to `wait` for the next piece of output.
    pub(crate) fn next(&mut self, wait: Duration) -> Next {
        match self.turns.recv_timeout(wait) {
            Ok(Turn::Worker(worker)) => match self.results[worker].recv() {
                Ok(done) => Next::Text(done.text, done.damaged),
                // A worker only goes away early when it panicked.
                Err(_) => Next::Failed("a formatting thread stopped".into()),
            },
            Ok(Turn::Failed(reason)) => Next::Failed(reason),
            Err(RecvTimeoutError::Timeout) => Next::Quiet,
            Err(RecvTimeoutError::Disconnected) => Next::End,
        }
    }
}

/// How many workers for this machine.
pub(crate) fn worker_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, MAX_WORKERS))
}

/// Starts reading `open()`'s input on its own thread, cut into chunks that `formats.len()` workers
/// decode, filter and format. `quiet` (for a pipe) lets a trickle go out at once and a held entry go
/// once the input has been quiet for [`JOIN_IDLE`]. The threads are not joined: a reader blocked on
/// a quiet pipe must not keep the process from exiting.
pub(crate) fn spawn<R: Read + 'static>(
    open: impl FnOnce() -> BufReader<R> + Send + 'static,
    source: &str,
    quiet: Option<Quiet>,
    filter: &Filter,
    formats: Vec<FormatEntry>,
) -> Formatted {
    let workers = formats.len().max(1);
    let mut jobs = Vec::with_capacity(workers);
    let mut results = Vec::with_capacity(workers);
    for format in formats {
        let (job_tx, job_rx) = sync_channel::<Job>(1);
        let (done_tx, done_rx) = sync_channel::<Done>(1);
        let (filter, source) = (filter.clone(), source.to_owned());
        std::thread::spawn(move || work(&job_rx, &done_tx, &filter, &source, format));
        jobs.push(job_tx);
        results.push(done_rx);
    }
    // Every handed-out chunk is one turn: the turns never hold more than the chunks in flight.
    let (turn_tx, turns) = sync_channel(workers * 3 + 2);
    std::thread::spawn(move || {
        let mut reader = open();
        let mut cutter = Cutter {
            jobs,
            turns: turn_tx,
            last: 0,
            last_ended: true,
        };
        cutter.read(&mut reader, quiet);
    });
    Formatted { turns, results }
}

/// Decodes, filters and formats chunks until the reader or the writer is gone.
fn work(
    jobs: &Receiver<Job>,
    done: &SyncSender<Done>,
    filter: &Filter,
    source: &str,
    mut format: FormatEntry,
) {
    let mut decoder = LineDecoder::default();
    // A filter that tests `meta` needs the decoded entry; any other decides on a flat line.
    let read_flat = !filter.reads_meta();
    while let Ok(job) = jobs.recv() {
        let now = Utc::now();
        let damaged_before = decoder.damaged;
        let mut text = String::with_capacity(job.lines.len() + job.lines.len() / 4);
        // Tests what is kept against the filter and shows what passes.
        let mut show = |kept: Kept<'_>| {
            let passes = match kept {
                Kept::Entry(entry) => filter.matches(entry),
                Kept::Flat(line) => filter.matches_flat(line),
            };
            if passes {
                format(kept, now, &mut text);
                text.push('\n');
            }
        };
        let mut lines = lines_of(&job.lines).peekable();
        while let Some(line) = lines.next() {
            let flat = read_flat
                .then(|| complete_flat(line, lines.peek(), job.ends_entry, &decoder))
                .flatten();
            let released = match flat {
                Some(flat) => {
                    // Complete on its own: what the decoder holds is complete too.
                    decoder.lines += 1;
                    if let Some(entry) = decoder.flush() {
                        show(Kept::Entry(&entry));
                    }
                    show(Kept::Flat(&flat));
                    continue;
                }
                None => decoder.push_unless(line, source, |line| filter.refuses_line(line)),
            };
            if let Some(entry) = released {
                show(Kept::Entry(&entry));
            }
        }
        if job.ends_entry
            && let Some(entry) = decoder.flush()
        {
            show(Kept::Entry(&entry));
        }
        let damaged = decoder.damaged - damaged_before;
        if done.send(Done { text, damaged }).is_err() {
            return;
        }
    }
}

/// `line` read flat, if it is a whole entry: no line joins it (the next one, or the chunk's end
/// when the next chunk starts a new entry, says so) and it joins nothing the decoder holds. Any
/// other line goes through the decoder.
fn complete_flat<'a>(
    line: &'a [u8],
    next: Option<&&[u8]>,
    ends_entry: bool,
    decoder: &LineDecoder,
) -> Option<FlatLine<'a>> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.first() != Some(&b'{') || line.len() > MAX_LINE_BYTES {
        return None;
    }
    let complete = next.map_or(ends_entry, |next| !may_continue(next));
    if !complete {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let flat = FlatLine::of(text)?;
    (!decoder.takes(text)).then_some(flat)
}

/// The lines of a chunk, each with its `\n` (the last one may lack it). `split_inclusive` tests a
/// byte at a time; memchr finds the next line end a word at a time, which showed in profiles.
fn lines_of(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = bytes;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest).map_or(rest.len(), |at| at + 1);
        let (line, after) = rest.split_at(end);
        rest = after;
        Some(line)
    })
}

/// The reader's side: cuts lines into chunks and hands them out in turn.
struct Cutter {
    jobs: Vec<SyncSender<Job>>,
    turns: SyncSender<Turn>,
    /// The worker given the last chunk.
    last: usize,
    /// Whether that chunk ended an entry; if not, the next chunk must go to the same worker.
    last_ended: bool,
}

impl Cutter {
    /// Hands one chunk out; `false` when the writer is gone.
    fn send(&mut self, lines: Vec<u8>, ends_entry: bool) -> bool {
        let worker = if self.last_ended {
            (self.last + 1) % self.jobs.len()
        } else {
            self.last
        };
        (self.last, self.last_ended) = (worker, ends_entry);
        // The turn first: the writer then waits on this worker, which is about to get the chunk.
        self.turns.send(Turn::Worker(worker)).is_ok()
            && self.jobs[worker].send(Job { lines, ends_entry }).is_ok()
    }

    fn read<R: Read>(&mut self, reader: &mut BufReader<R>, quiet: Option<Quiet>) {
        // Lines are read straight into the chunk; the line being read starts at `start`.
        let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK + 1024);
        let mut start = 0;
        let mut starts = EntryStarts::default();
        loop {
            // A pipe with nothing more now: what is complete goes out at once (its last entry kept
            // by the worker for continuation lines), and that entry goes once the pipe stays quiet.
            if let Some(quiet) = quiet
                && reader.buffer().is_empty()
                && !quiet(Duration::ZERO)
            {
                if start > 0 && !self.send(split_at(&mut chunk, start), false) {
                    return;
                }
                start = 0;
                if !self.last_ended && !quiet(JOIN_IDLE) && !self.send(Vec::new(), true) {
                    return;
                }
            }
            let read = match read_line_capped_onto(reader, &mut chunk, start) {
                Ok(read) => read,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    if self.send(chunk, true) {
                        let _ = self.turns.send(Turn::Failed(e.to_string()));
                    }
                    return;
                }
            };
            if read == 0 {
                // The input is over: a last line without a newline is complete.
                self.send(chunk, true);
                return;
            }
            if !chunk[start..].ends_with(b"\n") {
                continue;
            }
            let cut = starts.next(&chunk[start..]);
            if start >= HARD_CHUNK || (cut && start >= CHUNK) {
                let taken = split_at(&mut chunk, start);
                if !self.send(taken, cut) {
                    return;
                }
            }
            start = chunk.len();
        }
    }
}

/// Takes `chunk[..at]` out as a chunk of its own, leaving the rest (a line) in a new `chunk`.
fn split_at(chunk: &mut Vec<u8>, at: usize) -> Vec<u8> {
    let mut rest = Vec::with_capacity(CHUNK + 1024);
    rest.extend_from_slice(&chunk[at..]);
    chunk.truncate(at);
    std::mem::replace(chunk, rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formats each entry as its level and message, so joining and order show in the text.
    fn plain() -> FormatEntry {
        Box::new(|kept: Kept<'_>, _now: DateTime<Utc>, out: &mut String| {
            let (level, message) = match kept {
                Kept::Entry(entry) => (entry.level, entry.message.replace('\n', "|")),
                Kept::Flat(line) => (line.level, line.message.to_owned()),
            };
            out.push_str(level.as_str());
            out.push(' ');
            out.push_str(&message);
        })
    }

    /// Formats as `vg logs` does (no colour), the origin column as wide as the widest origin from
    /// the start (workers each grow their own, which the order of lines would show otherwise).
    fn display() -> FormatEntry {
        let mut formatter = crate::format::LineFormatter {
            origin_width: 24,
            ..Default::default()
        };
        Box::new(
            move |kept: Kept<'_>, now: DateTime<Utc>, out: &mut String| match kept {
                Kept::Entry(entry) => formatter.write(out, entry, now),
                Kept::Flat(line) => formatter.write_flat(out, line, now),
            },
        )
    }

    fn run(input: Vec<u8>, workers: usize, filter: &Filter) -> (String, u64) {
        run_with(input, workers, filter, plain)
    }

    fn run_with(
        input: Vec<u8>,
        workers: usize,
        filter: &Filter,
        format: fn() -> FormatEntry,
    ) -> (String, u64) {
        let formats = (0..workers).map(|_| format()).collect();
        let mut out = spawn(
            move || BufReader::new(std::io::Cursor::new(input)),
            "s",
            None,
            filter,
            formats,
        );
        let (mut text, mut damaged) = (String::new(), 0);
        loop {
            match out.next(Duration::from_secs(30)) {
                Next::Text(t, d) => {
                    text.push_str(&t);
                    damaged += d;
                }
                Next::End => return (text, damaged),
                other => panic!("{other:?}"),
            }
        }
    }

    /// What one decoder reading every line gives, formatted the same way.
    fn sequential(input: &[u8], filter: &Filter) -> String {
        sequential_with(input, filter, plain)
    }

    fn sequential_with(input: &[u8], filter: &Filter, format: fn() -> FormatEntry) -> String {
        let mut decoder = LineDecoder::default();
        let mut format = format();
        let mut text = String::new();
        let now = Utc::now();
        let mut entries: Vec<LogEntry> = input
            .split_inclusive(|&b| b == b'\n')
            .filter_map(|line| decoder.push(line, "s"))
            .collect();
        entries.extend(decoder.flush());
        for entry in entries.iter().filter(|e| filter.matches(e)) {
            format(Kept::Entry(entry), now, &mut text);
            text.push('\n');
        }
        text
    }

    /// Many chunks' worth of JSON lines, stack traces, a Python traceback and a run of indented
    /// lines longer than a hard chunk, so cuts fall everywhere.
    fn mixed_input() -> Vec<u8> {
        let mut input = String::new();
        for i in 0..6000 {
            match i % 97 {
                0 => {
                    input.push_str(&format!("2026-02-05T18:00:00Z ERROR failed {i}\n"));
                    input.push_str("java.lang.IllegalStateException: boom\n");
                    input.push_str("\tat com.example.App.handle(App.java:42)\n\n");
                    input.push_str("Caused by: java.io.IOException: broken\n\t... 2 more\n");
                }
                1 => {
                    input.push_str("Traceback (most recent call last):\n");
                    input.push_str("  File \"app.py\", line 3, in <module>\n");
                    input.push_str("ValueError: bad\n");
                }
                50 if i < 100 => {
                    input.push_str("a line that many indented lines follow\n");
                    for j in 0..7000 {
                        input.push_str(&format!("    wrapped text line {j} of a long block\n"));
                    }
                }
                _ => input.push_str(&format!(
                    "{{\"timestamp\":\"2026-02-05T18:13:38.123Z\",\"level\":\"{}\",\"source\":\"api\",\"message\":\"request {i}\"}}\n",
                    if i % 3 == 0 { "warn" } else { "info" }
                )),
            }
        }
        input.push_str("the last line has no newline");
        input.into_bytes()
    }

    #[test]
    fn chunks_on_several_workers_give_what_one_decoder_gives_in_order() {
        let input = mixed_input();
        assert!(input.len() > 6 * CHUNK, "the input must span many chunks");
        let all = Filter::all();
        let expected = sequential(&input, &all);
        for workers in [1, 2, 3] {
            let (text, damaged) = run(input.clone(), workers, &all);
            assert_eq!(damaged, 0);
            assert!(
                text == expected,
                "{workers} workers: output differs from one decoder's"
            );
        }
        // The block of indented lines was joined up to the decoder's limits, not cut by chunks.
        assert!(expected.contains("info a line that many indented lines follow|    wrapped"));
        assert!(expected.ends_with("info the last line has no newline\n"));
    }

    #[test]
    fn lines_dropped_before_decoding_give_what_the_full_filter_gives() {
        // Native lines, some continued by frames that hold the only match for the pattern.
        let mut input = String::new();
        for i in 0..20_000 {
            let level = ["debug", "info", "warn", "error"][i % 4];
            input.push_str(&format!(
                "{{\"timestamp\":\"2026-02-05T18:{:02}:{:02}.000Z\",\"level\":\"{level}\",\"source\":\"{}\",\"message\":\"job {i} \\\"q\\\"\",\"meta\":{{\"n\":{i}}}}}\n",
                i / 60 % 60,
                i % 60,
                ["api", "db"][i % 3 % 2],
            ));
            if i % 7 == 0 {
                input.push_str(&format!("\tat Frame.timeout{i}(F.java:1)\n"));
            }
        }
        let input = input.into_bytes();
        let specs = [
            crate::filter::FilterSpec {
                level: Some("warn".into()),
                ..Default::default()
            },
            crate::filter::FilterSpec {
                q: Some(r#"timeout|job 1[0-9]* "q"$"#.into()),
                source: vec!["api".into()],
                ..Default::default()
            },
            crate::filter::FilterSpec {
                since: Some("2026-02-05T18:10:00Z".into()),
                exclude_source: vec!["db".into()],
                ..Default::default()
            },
        ];
        for spec in specs {
            let filter = spec.compile(Utc::now()).unwrap();
            let expected = sequential(&input, &filter);
            assert!(
                expected.contains("timeout") || !expected.contains("|"),
                "{spec:?}"
            );
            let (text, _) = run(input.clone(), 2, &filter);
            assert!(
                text == expected,
                "{spec:?}: output differs from the full filter's"
            );
        }
    }

    #[test]
    fn flat_lines_show_as_decoded_entries_and_still_take_their_continuations() {
        let flat = |i: usize, level: &str| {
            format!(
                "{{\"timestamp\":\"2026-02-05T18:00:{:02}.{:03}Z\",\"level\":\"{level}\",\"source\":\"{}\",\"message\":\"GET /{i}\",\"meta\":{{\"status\":{},\"ua\":\"curl 8\"}},\"instance\":\"148e7d2a{i}\",\"region\":\"ord\"}}",
                i % 60,
                i % 1000,
                ["api", "scheduler", "db"][i % 3],
                200 + i % 7,
            )
        };
        let mut input = String::new();
        for i in 0..30_000 {
            let level = ["info", "warn", "error"][i % 3];
            input.push_str(&flat(i, level));
            // Each kind of line that joins the entry above, and lines that make the next one
            // start differently: a blank line, CRLF, a traceback the next flat line ends.
            input.push_str(match i % 11 {
                0 => "\n\tat App.handle(App.java:42)\n",
                1 => "\nCaused by: java.io.IOException: broken\n",
                2 => "\n\n",
                3 => "\r\n",
                4 => "\nTraceback (most recent call last):\n  File \"a.py\", line 1\n",
                5 => {
                    "\n    {\"time\": \"2026-02-05T18:00:00Z\", \"msg\": \"an indented object\"}\n"
                }
                _ => "\n",
            });
        }
        let input = input.into_bytes();
        let error_api = crate::filter::FilterSpec {
            level: Some("error".into()),
            q: Some(r"GET /[0-9]*5\b|Traceback".into()),
            ..Default::default()
        };
        for spec in [crate::filter::FilterSpec::default(), error_api] {
            let filter = spec.compile(Utc::now()).unwrap();
            let expected = sequential_with(&input, &filter, display);
            assert!(expected.contains("│ \tat App.handle"), "{spec:?}");
            let (text, damaged) = run_with(input.clone(), 2, &filter, display);
            assert_eq!(damaged, 0);
            if let Some((a, b)) = text.lines().zip(expected.lines()).find(|(a, b)| a != b) {
                panic!("{spec:?}: flat lines show differently from decoded ones:\n{a}\n{b}");
            }
            assert!(text == expected, "{spec:?}: a line more or less");
        }
    }

    #[test]
    fn the_filter_runs_on_the_workers_and_damaged_lines_are_counted() {
        let mut input = mixed_input();
        input.extend_from_slice(b"\n\xffbroken\n");
        let warn = crate::filter::FilterSpec {
            level: Some("warn".into()),
            ..Default::default()
        }
        .compile(Utc::now())
        .unwrap();
        let (text, damaged) = run(input.clone(), 2, &warn);
        assert_eq!(text, sequential(&input, &warn));
        assert!(text.lines().all(|l| !l.starts_with("info")), "{text}");
        assert!(text.contains("warn request 3\n"));
        assert_eq!(damaged, 1);
    }
}
