//! One display line per entry, in the spirit of `fly logs`:
//!
//! ```text
//! 2026-02-05T18:13:38.000Z api[148e] ord info  GET /api/users 200 12ms  method=GET statusCode=200
//! ```
//!
//! Everything that came from the log is passed through [`sanitize`] here, at the display edge; JSON
//! output never comes through this module and keeps the raw data.

mod sanitize;

use std::fmt::Write as _;

use chrono::{DateTime, Local, Utc};
use serde_json::Value;

pub use sanitize::{is_unsafe, push_sanitized, sanitize};

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

/// `source[instance] region`, sanitized.
pub fn write_origin(out: &mut String, entry: &LogEntry) {
    push_sanitized(out, &entry.source);
    if let Some(instance) = &entry.instance {
        out.push('[');
        push_sanitized(out, instance);
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
}

impl LineFormatter {
    /// Appends one display line for `entry` (without the trailing newline).
    pub fn write(&self, out: &mut String, entry: &LogEntry, now: DateTime<Utc>) {
        let (dim, source, reset) = if self.color {
            (ansi::DIM, ansi::SOURCE, ansi::RESET)
        } else {
            ("", "", "")
        };
        out.push_str(dim);
        write_time(out, &entry.timestamp, self.time, now);
        out.push_str(reset);
        out.push(' ');
        out.push_str(source);
        write_origin(out, entry);
        out.push_str(reset);
        out.push(' ');
        if self.color {
            out.push_str(level_style(entry.level));
        }
        // Padded by hand: `format!`'s padding machinery costs more than the rest of the column.
        let level = entry.level.as_str();
        out.push_str(level);
        out.push_str(&"     "[level.len().min(5)..]);
        out.push_str(reset);
        out.push(' ');
        if self.raw {
            out.push_str(&entry.message);
        } else {
            push_sanitized(out, &entry.message);
        }
        if !entry.meta.is_empty() {
            out.push_str("  ");
            out.push_str(dim);
            write_meta(out, &entry.meta);
            out.push_str(reset);
        }
    }

    /// One display line as a new string.
    pub fn line(&self, entry: &LogEntry, now: DateTime<Utc>) -> String {
        let mut out = String::with_capacity(128);
        self.write(&mut out, entry, now);
        out
    }
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

    #[test]
    fn plain_line_reads_like_fly_logs() {
        let line = LineFormatter::default().line(&example(), Utc::now());
        assert_eq!(
            line,
            r#"2026-02-05T18:13:38.000Z api[148e] ord info  GET /api/users 200 12ms  method=GET path=/api/users statusCode=200 ua="curl 8" tags=["a"]"#
        );
    }

    #[test]
    fn colour_wraps_fields_in_ansi() {
        let f = LineFormatter {
            color: true,
            ..Default::default()
        };
        let line = f.line(&example(), Utc::now());
        assert!(line.contains("\u{1b}[32minfo \u{1b}[0m"), "{line:?}");
    }

    #[test]
    fn hostile_content_is_neutralised_everywhere_unless_raw() {
        let mut e = example();
        e.message = "ok\u{1b}]0;pwned\u{7}\nforged line".into();
        e.source = "api\u{1b}[2J".into();
        e.meta.insert("k\r", Value::String("v\u{202e}".into()));
        let line = LineFormatter::default().line(&e, Utc::now());
        assert!(!line.chars().any(is_unsafe), "{line:?}");
        assert!(line.contains(r"ok\e]0;pwned\x07\nforged line"), "{line}");
        let raw = LineFormatter {
            raw: true,
            ..Default::default()
        }
        .line(&e, Utc::now());
        assert!(raw.contains("ok\u{1b}]0;pwned\u{7}\nforged line"));
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
