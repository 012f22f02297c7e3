//! One display line per entry, in the spirit of `fly logs`, in the same column order as `vg tui`:
//!
//! ```text
//! 2026-02-05T18:13:38.000Z info  api[148e7d] ord GET /api/users 200 12ms  method=GET statusCode=200
//! ```
//!
//! Time, level, `source[instance] region` padded to the widest seen so far (so messages line up once
//! the stream's names have shown up), the message, then `meta`. A multi-line message (a stack trace)
//! goes on continuation lines, each indented and marked with `│`, so none can pass for an entry: an
//! entry's line always starts with its time at column 0.
//!
//! Everything that came from the log is passed through [`sanitize`] here, at the display edge; JSON
//! output never comes through this module and keeps the raw data.

mod redact;
mod sanitize;

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::{DateTime, Local, Utc};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

pub use redact::url_without_password;
pub use sanitize::{is_unsafe, push_sanitized, sanitize};

use crate::model::decode::{FlatLine, FlatValue};
use crate::model::{Level, LogEntry, Meta};

/// How the time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeMode {
    /// `2026-02-05T18:13:38.000Z`
    #[default]
    Utc,
    /// `2026-02-05 19:13:38.000` in the local zone.
    Local,
    /// `12s ago`
    Relative,
}

impl std::str::FromStr for TimeMode {
    type Err = String;

    fn from_str(text: &str) -> Result<TimeMode, String> {
        match text.to_ascii_lowercase().as_str() {
            "utc" => Ok(TimeMode::Utc),
            "local" => Ok(TimeMode::Local),
            "relative" => Ok(TimeMode::Relative),
            _ => Err(format!(
                "unknown time mode '{text}': use utc, local or relative"
            )),
        }
    }
}

impl TimeMode {
    /// The next mode in the cycle UTC → local → relative.
    pub fn next(self) -> TimeMode {
        match self {
            TimeMode::Utc => TimeMode::Local,
            TimeMode::Local => TimeMode::Relative,
            TimeMode::Relative => TimeMode::Utc,
        }
    }
}

/// Writes the time column for `ts`. `now` is only read in relative mode.
pub fn write_time(out: &mut String, ts: &DateTime<Utc>, mode: TimeMode, now: DateTime<Utc>) {
    let _ = match mode {
        TimeMode::Utc => {
            crate::model::push_timestamp(out, ts);
            Ok(())
        }
        TimeMode::Local => write!(
            out,
            "{}",
            ts.with_timezone(&Local).format("%Y-%m-%d %H:%M:%S%.3f")
        ),
        TimeMode::Relative => {
            let secs = (now - *ts).num_seconds();
            let (n, unit) = match secs.unsigned_abs() {
                s if s < 60 => (s, "s"),
                s if s < 3600 => (s / 60, "m"),
                s if s < 86_400 => (s / 3600, "h"),
                s => (s / 86_400, "d"),
            };
            if secs < 0 {
                write!(out, "in {n}{unit}")
            } else {
                write!(out, "{n}{unit} ago")
            }
        }
    };
}

/// Characters of a machine id (hex digits, as Fly's machine ids and container ids are) the one-line
/// forms show, as `fly logs` does: enough to tell a fleet's machines apart, few enough that the
/// region stays on screen at 80 columns. The detail view, the picker and `--json` keep the whole id.
pub const INSTANCE_CHARS: usize = 6;

/// The most characters the one-line forms show of any other instance name (`web-3`, `host:7101`):
/// those differ anywhere, often only at the end, so they are not cut to [`INSTANCE_CHARS`].
pub const INSTANCE_NAME_CHARS: usize = 20;

/// The width every relative time is padded to (`59s ago`, `in 59m`, `365d ago`), so the columns after
/// it do not move as times age.
pub const RELATIVE_WIDTH: usize = 8;

/// The widest the origin column grows in `vg logs`; a longer origin pushes its own line's message.
pub const ORIGIN_MAX: usize = 28;

/// An instance id as the one-line forms show it: a machine id (hex digits only) by its first
/// [`INSTANCE_CHARS`] characters; any other name whole up to [`INSTANCE_NAME_CHARS`], and a longer
/// one by both ends around `…`, since names made of a host and a number differ at the end.
pub fn short_instance(id: &str) -> Cow<'_, str> {
    let chars = id.chars().count();
    let machine_id = id.bytes().all(|b| b.is_ascii_hexdigit());
    if machine_id && chars > INSTANCE_CHARS {
        return Cow::Borrowed(&id[..INSTANCE_CHARS]);
    }
    if chars <= INSTANCE_NAME_CHARS {
        return Cow::Borrowed(id);
    }
    let head = (INSTANCE_NAME_CHARS - 1) / 2;
    let tail = INSTANCE_NAME_CHARS - 1 - head;
    let mut shown: String = id.chars().take(head).collect();
    shown.push('…');
    shown.extend(id.chars().skip(chars - tail));
    Cow::Owned(shown)
}

/// `source[instance] region`, sanitized, with the instance id shortened.
pub fn write_origin(out: &mut String, entry: &LogEntry) {
    push_sanitized(out, &entry.source);
    if let Some(instance) = &entry.instance {
        out.push('[');
        push_sanitized(out, &short_instance(instance));
        out.push(']');
    }
    if let Some(region) = &entry.region {
        out.push(' ');
        push_sanitized(out, region);
    }
}

/// Meta as compact `key=value` pairs separated by spaces; strings with spaces or quotes are quoted.
pub fn write_meta(out: &mut String, meta: &Meta) {
    for (i, (key, value)) in meta.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        push_sanitized(out, key);
        out.push('=');
        write_value(out, value);
    }
}

/// One meta value in its compact form.
pub fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => write_string_value(out, s),
        // Their text is digits, `true`, `false` or `null`: nothing to sanitize, nothing to allocate.
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Null => out.push_str("null"),
        other => push_sanitized(out, &other.to_string()),
    }
}

/// A string meta value in its compact form: as is, or quoted when it holds spaces, quotes or `=`
/// (or is empty), so the pairs stay readable.
pub(crate) fn write_string_value(out: &mut String, s: &str) {
    if needs_quotes(s) {
        push_sanitized(out, &serde_json::to_string(s).unwrap_or_default());
    } else {
        push_sanitized(out, s);
    }
}

fn needs_quotes(s: &str) -> bool {
    s.is_empty() || s.contains(|c: char| c.is_whitespace() || c == '"' || c == '=')
}

/// `1 entry`, `2 entries`: a count of entries for a message.
pub fn entries(n: u64) -> String {
    if n == 1 {
        "1 entry".to_owned()
    } else {
        format!("{n} entries")
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// ANSI styles for the plain-text output.
mod ansi {
    pub(super) const RESET: &str = "\u{1b}[0m";
    pub(super) const DIM: &str = "\u{1b}[2m";
    pub(super) const SOURCE: &str = "\u{1b}[36m";
}

fn level_style(level: Level) -> &'static str {
    match level {
        Level::Trace => "\u{1b}[2m",
        Level::Debug => "\u{1b}[34m",
        Level::Info => "\u{1b}[32m",
        Level::Warn => "\u{1b}[33m",
        Level::Error => "\u{1b}[31m",
        Level::Fatal => "\u{1b}[1;97;41m",
    }
}

/// Turns entries into display lines.
#[derive(Debug, Clone, Copy, Default)]
pub struct LineFormatter {
    /// Emit ANSI colour.
    pub color: bool,
    /// How to write the time.
    pub time: TimeMode,
    /// Skip sanitizing (only for a person who trusts every source of these logs).
    pub raw: bool,
    /// Keep a multi-line message on its one line, its newlines shown as `\n`, instead of on marked
    /// continuation lines.
    pub single_line: bool,
    /// The origin column's width so far: it grows to the widest origin seen (up to [`ORIGIN_MAX`]),
    /// so the messages line up. Start at 0.
    pub origin_width: usize,
}

impl LineFormatter {
    /// Appends the display text for `entry` (without the trailing newline): one line, or a line and
    /// its continuation lines when the message has several.
    pub fn write(&mut self, out: &mut String, entry: &LogEntry, now: DateTime<Utc>) {
        self.write_shown(out, entry, now);
    }

    /// Appends the display text for a line read flat, exactly as [`LineFormatter::write`] shows the
    /// entry the line decodes to, without decoding it.
    pub fn write_flat(&mut self, out: &mut String, line: &FlatLine<'_>, now: DateTime<Utc>) {
        self.write_shown(out, line, now);
    }

    /// The display text for one entry as a new string.
    pub fn line(&mut self, entry: &LogEntry, now: DateTime<Utc>) -> String {
        let mut out = String::with_capacity(128);
        self.write(&mut out, entry, now);
        out
    }

    fn write_shown(&mut self, out: &mut String, shown: &impl Shown, now: DateTime<Utc>) {
        let (dim, source, reset) = if self.color {
            (ansi::DIM, ansi::SOURCE, ansi::RESET)
        } else {
            ("", "", "")
        };
        out.push_str(dim);
        let time_start = out.len();
        shown.write_time(out, self.time, now);
        let mut column = out.len() - time_start;
        if self.time == TimeMode::Relative {
            pad(out, &mut column, RELATIVE_WIDTH);
        }
        out.push_str(reset);
        out.push(' ');
        let level = shown.level();
        if self.color {
            out.push_str(level_style(level));
        }
        // Padded by hand: `format!`'s padding machinery costs more than the rest of the column.
        let level = level.as_str();
        out.push_str(level);
        out.push_str(&"     "[level.len().min(5)..]);
        out.push_str(reset);
        out.push(' ');
        column += 7;
        out.push_str(source);
        let origin_start = out.len();
        shown.write_origin(out);
        let origin = if shown.plain() {
            out.len() - origin_start
        } else {
            out[origin_start..].width()
        };
        if origin <= ORIGIN_MAX {
            self.origin_width = self.origin_width.max(origin);
        }
        let mut origin_column = origin;
        pad(out, &mut origin_column, self.origin_width);
        column += origin_column + 1;
        out.push_str(reset);
        out.push(' ');
        let message = shown.message();
        let mut lines = None;
        if self.raw || shown.plain() {
            out.push_str(message);
        } else if self.single_line || !message.contains('\n') {
            push_sanitized(out, message);
        } else {
            let mut rest = message.trim_end_matches(['\n', '\r']).split('\n');
            push_sanitized(out, strip_cr(rest.next().unwrap_or_default()));
            lines = Some(rest);
        }
        if shown.has_meta() {
            out.push_str("  ");
            out.push_str(dim);
            shown.write_meta(out);
            out.push_str(reset);
        }
        // Continuation lines: indented so the text lines up under the message, and marked, so no
        // line of a message can look like an entry of its own.
        for line in lines.into_iter().flatten() {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', column.saturating_sub(2)));
            out.push_str(dim);
            out.push('│');
            out.push_str(reset);
            let line = strip_cr(line);
            if !line.is_empty() {
                out.push(' ');
                push_sanitized(out, line);
            }
        }
    }
}

/// What a display line is made of, from a decoded entry or straight from a flat line.
trait Shown {
    fn write_time(&self, out: &mut String, mode: TimeMode, now: DateTime<Utc>);
    fn level(&self) -> Level;
    /// `source[instance] region`, sanitized, the instance shortened.
    fn write_origin(&self, out: &mut String);
    fn message(&self) -> &str;
    /// Every string is printable ASCII: nothing to sanitize, one column per byte.
    fn plain(&self) -> bool;
    fn has_meta(&self) -> bool;
    fn write_meta(&self, out: &mut String);
}

impl Shown for LogEntry {
    fn write_time(&self, out: &mut String, mode: TimeMode, now: DateTime<Utc>) {
        write_time(out, &self.timestamp, mode, now);
    }

    fn level(&self) -> Level {
        self.level
    }

    fn write_origin(&self, out: &mut String) {
        write_origin(out, self);
    }

    fn message(&self) -> &str {
        &self.message
    }

    fn plain(&self) -> bool {
        false
    }

    fn has_meta(&self) -> bool {
        !self.meta.is_empty()
    }

    fn write_meta(&self, out: &mut String) {
        write_meta(out, &self.meta);
    }
}

/// A flat line's strings are printable ASCII, so they go out as they are: what `sanitize` would
/// leave unchanged, and what `write_value` writes for the same values.
impl Shown for FlatLine<'_> {
    fn write_time(&self, out: &mut String, mode: TimeMode, now: DateTime<Utc>) {
        match mode {
            // The wire's form, which the line has already (its parser takes nothing else).
            TimeMode::Utc => out.push_str(self.timestamp_text),
            _ => write_time(out, &self.timestamp, mode, now),
        }
    }

    fn level(&self) -> Level {
        self.level
    }

    fn write_origin(&self, out: &mut String) {
        out.push_str(self.source);
        if let Some(instance) = self.instance {
            out.push('[');
            out.push_str(&short_instance(instance));
            out.push(']');
        }
        if let Some(region) = self.region {
            out.push(' ');
            out.push_str(region);
        }
    }

    fn message(&self) -> &str {
        self.message
    }

    fn plain(&self) -> bool {
        true
    }

    fn has_meta(&self) -> bool {
        !self.meta_is_empty()
    }

    fn write_meta(&self, out: &mut String) {
        for (i, (key, value)) in self.meta().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(key);
            out.push('=');
            match value {
                // What `needs_quotes` finds in printable ASCII without `"`; and JSON's own quoting of
                // a string with nothing to escape is the string in quotes.
                FlatValue::Str(s) if s.is_empty() || s.bytes().any(|b| b == b' ' || b == b'=') => {
                    out.push('"');
                    out.push_str(s);
                    out.push('"');
                }
                FlatValue::Str(text) | FlatValue::Literal(text) => out.push_str(text),
                FlatValue::Number(n) => {
                    let _ = write!(out, "{n}");
                }
            }
        }
    }
}

/// Pads with spaces from `column` to `width`.
fn pad(out: &mut String, column: &mut usize, width: usize) {
    if *column < width {
        out.extend(std::iter::repeat_n(' ', width - *column));
        *column = width;
    }
}

/// A line of a CRLF text without its CR (any other CR is sanitized as `\r`).
fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234), "1,234");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    fn example() -> LogEntry {
        serde_json::from_str(r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"GET /api/users 200 12ms","meta":{"method":"GET","path":"/api/users","statusCode":200,"ua":"curl 8","tags":["a"]},"instance":"148e","region":"ord"}"#).unwrap()
    }

    fn placed(source: &str, instance: &str, region: &str, message: &str) -> LogEntry {
        let mut e = example();
        e.source = source.into();
        e.instance = Some(instance.into());
        e.region = Some(region.into());
        e.message = message.into();
        e.meta = Meta::new();
        e
    }

    #[test]
    fn plain_line_has_the_tui_column_order() {
        let line = LineFormatter::default().line(&example(), Utc::now());
        assert_eq!(
            line,
            r#"2026-02-05T18:13:38.000Z info  api[148e] ord GET /api/users 200 12ms  method=GET path=/api/users statusCode=200 ua="curl 8" tags=["a"]"#
        );
    }

    #[test]
    fn origins_are_padded_to_the_widest_seen_and_instances_shortened() {
        let mut f = LineFormatter::default();
        let now = Utc::now();
        let lines: Vec<String> = [
            placed("scheduler", "9a21c4e5", "ams", "cron ok"),
            placed("api", "148e7d2a", "ord", "GET /"),
            placed("db", "3d8f0b91", "syd", "query ok"),
        ]
        .iter()
        .map(|e| f.line(e, now))
        .collect();
        assert_eq!(
            lines,
            [
                "2026-02-05T18:13:38.000Z info  scheduler[9a21c4] ams cron ok",
                "2026-02-05T18:13:38.000Z info  api[148e7d] ord       GET /",
                "2026-02-05T18:13:38.000Z info  db[3d8f0b] syd        query ok",
            ]
        );
        // An origin beyond the cap does not widen the column for everyone after it.
        let long = "x".repeat(ORIGIN_MAX + 5);
        f.line(&placed(&long, "a", "b", "m"), now);
        assert_eq!(f.origin_width, "scheduler[9a21c4] ams".len());
    }

    #[test]
    fn one_entry_is_not_entries() {
        assert_eq!(entries(1), "1 entry");
        assert_eq!(entries(0), "0 entries");
        assert_eq!(entries(500), "500 entries");
    }

    #[test]
    fn instance_names_stay_apart_when_shown_short() {
        // Machine ids are cut as `fly logs` cuts them.
        assert_eq!(short_instance("148e6f2c7d1e89"), "148e6f");
        assert_eq!(short_instance("9a21"), "9a21");
        // Names differ anywhere, often at the end: two servers on one host, a numbered fleet.
        assert_eq!(short_instance("vm:7101"), "vm:7101");
        assert_ne!(short_instance("vm:7101"), short_instance("vm:7102"));
        assert_eq!(short_instance("web-production-2"), "web-production-2");
        let long = short_instance("ip-10-0-1-23.eu-west-1.compute.internal:7007");
        assert_eq!(long, "ip-10-0-1…ernal:7007");
        assert_eq!(long.chars().count(), INSTANCE_NAME_CHARS);
        assert_eq!(
            short_instance("ünïcödé-nämé-that-is-long-2"),
            "ünïcödé-n…-is-long-2"
        );
        // The flat form (entries passed on as written) shows the same.
        let line = r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"m","instance":"vm:7102"}"#;
        let flat = FlatLine::of(line).expect("a flat line");
        let mut shown = String::new();
        LineFormatter::default().write_flat(&mut shown, &flat, Utc::now());
        assert!(shown.contains("api[vm:7102]"), "{shown}");
    }

    #[test]
    fn relative_times_take_the_same_width_on_every_line() {
        let mut f = LineFormatter {
            time: TimeMode::Relative,
            ..Default::default()
        };
        let e = placed("api", "148e", "ord", "m");
        let mut at = |secs| f.line(&e, e.timestamp + chrono::Duration::seconds(secs));
        let (recent, older, future) = (at(5), at(75 * 60), at(-30));
        assert_eq!(recent, "5s ago   info  api[148e] ord m");
        assert_eq!(older, "1h ago   info  api[148e] ord m");
        assert_eq!(future, "in 30s   info  api[148e] ord m");
    }

    #[test]
    fn multi_line_messages_continue_on_marked_indented_lines() {
        let mut e = placed(
            "worker",
            "9a21c4e5",
            "ams",
            "panicked at src/job.rs:42\r\n   0: job::run\n\n2026-02-05T18:13:39.000Z fatal forged\u{1b}[2J\n",
        );
        e.meta.insert("job", 7);
        let text = LineFormatter::default().line(&e, Utc::now());
        // The message starts at column 50; continuation text lines up with it, after the marker.
        let indent = " ".repeat(48);
        assert_eq!(
            text,
            format!(
                "2026-02-05T18:13:38.000Z info  worker[9a21c4] ams panicked at src/job.rs:42  job=7\n\
                 {indent}│    0: job::run\n\
                 {indent}│\n\
                 {indent}│ 2026-02-05T18:13:39.000Z fatal forged\\e[2J"
            )
        );
        let single = LineFormatter {
            single_line: true,
            ..Default::default()
        }
        .line(&e, Utc::now());
        assert_eq!(
            single,
            "2026-02-05T18:13:38.000Z info  worker[9a21c4] ams panicked at src/job.rs:42\\r\\n   0: job::run\\n\\n2026-02-05T18:13:39.000Z fatal forged\\e[2J\\n  job=7"
        );
    }

    #[test]
    fn colour_wraps_fields_in_ansi() {
        let mut f = LineFormatter {
            color: true,
            ..Default::default()
        };
        let line = f.line(&example(), Utc::now());
        assert!(line.contains("\u{1b}[32minfo \u{1b}[0m"), "{line:?}");
    }

    #[test]
    fn hostile_content_is_neutralised_everywhere_unless_raw() {
        let mut e = example();
        e.message = "ok\u{1b}]0;pwned\u{7}\rforged line".into();
        e.source = "api\u{1b}[2J".into();
        e.meta.insert("k\r", Value::String("v\u{202e}".into()));
        let line = LineFormatter::default().line(&e, Utc::now());
        assert!(!line.chars().any(is_unsafe), "{line:?}");
        assert!(line.contains(r"ok\e]0;pwned\x07\rforged line"), "{line}");
        let raw = LineFormatter {
            raw: true,
            ..Default::default()
        }
        .line(&e, Utc::now());
        assert!(raw.contains("ok\u{1b}]0;pwned\u{7}\rforged line"));
    }

    #[test]
    fn relative_and_local_times() {
        let e = example();
        let mut out = String::new();
        write_time(
            &mut out,
            &e.timestamp,
            TimeMode::Relative,
            e.timestamp + chrono::Duration::seconds(75),
        );
        assert_eq!(out, "1m ago");
        out.clear();
        write_time(&mut out, &e.timestamp, TimeMode::Local, Utc::now());
        assert_eq!(out.len(), "2026-02-05 18:13:38.000".len());
    }
}
