//! The log schema every part of vg shares: [`LogEntry`] and [`Level`].
//!
//! The JSON form is the original prototype's, field for field:
//! `{"timestamp","level","source","message","meta"}` plus the optional `instance`, `region` and `seq`,
//! which are omitted when absent. Timestamps are RFC 3339 UTC with milliseconds.
//! Reading other tools' JSON logs lives in [`decode`].

pub mod decode;
mod level;
mod meta;
mod size;

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

pub use level::{Level, UnknownLevel};
pub use meta::{Meta, MetaIter, MetaKey};

/// The `meta` key that ties an entry to the HTTP request it was logged in (the request layer sets
/// it; the TUI's request pivot follows it).
pub const REQUEST_ID_KEY: &str = "requestId";
/// The `meta` key vg sets on an entry it had to shorten (an overlong line or frame).
pub const TRUNCATED_KEY: &str = "vgTruncated";
/// The source of an ingested entry that names none.
pub const DEFAULT_SOURCE: &str = "app";

/// One structured log entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    /// When the event happened (UTC, millisecond precision on the wire).
    #[serde(with = "timestamp")]
    pub timestamp: DateTime<Utc>,
    /// Severity.
    pub level: Level,
    /// The component that logged it: `api`, `worker`, `db`...
    pub source: String,
    /// The human-readable message; may span several lines (stack traces).
    pub message: String,
    /// Structured fields. Omitted from JSON when empty.
    #[serde(default, skip_serializing_if = "Meta::is_empty")]
    pub meta: Meta,
    /// The machine or process that produced it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The region the instance runs in, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Position in the server's stream, stamped by the emitter; strictly increasing within one server start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
}

impl LogEntry {
    /// A new entry stamped now, with empty meta.
    pub fn new(level: Level, source: impl Into<String>, message: impl Into<String>) -> Self {
        LogEntry {
            timestamp: Utc::now(),
            level,
            source: source.into(),
            message: message.into(),
            meta: Meta::new(),
            instance: None,
            region: None,
            seq: None,
        }
    }

    /// Adds one meta field (builder style).
    #[must_use]
    pub fn with_meta(mut self, key: impl Into<MetaKey>, value: impl Into<Value>) -> Self {
        self.meta.insert(key, value);
        self
    }

    /// The entry as one line of JSON (the wire and NDJSON form).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a LogEntry always serializes")
    }

    /// The bytes this entry holds in memory, shared in an `Arc`: its own size and every heap block
    /// it owns (strings, meta and each value in it), each charged its capacity plus the
    /// allocator's per-block overhead. Bounds stated in bytes (history, live buffer) count this.
    pub fn approx_size(&self) -> usize {
        // The Arc's block: two counts and the entry.
        size::block(2 * std::mem::size_of::<usize>() + std::mem::size_of::<LogEntry>())
            + size::block(self.source.capacity())
            + size::block(self.message.capacity())
            + self
                .instance
                .as_ref()
                .map_or(0, |s| size::block(s.capacity()))
            + self
                .region
                .as_ref()
                .map_or(0, |s| size::block(s.capacity()))
            + self.meta.heap_size()
    }
}

/// Formats a timestamp as the wire does: RFC 3339, UTC, milliseconds, `Z`.
pub fn format_timestamp(ts: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(24);
    push_timestamp(&mut out, ts);
    out
}

/// Appends the wire form of a timestamp. Hand-written because it runs once per entry on every hot path
/// (serializing, display) and chrono's strftime re-parses its format string on each call.
pub fn push_timestamp(out: &mut String, ts: &DateTime<Utc>) {
    match wire_timestamp(ts) {
        Some(buf) => out.push_str(std::str::from_utf8(&buf).expect("ASCII digits")),
        None => out.push_str(&ts.to_rfc3339_opts(SecondsFormat::Millis, true)),
    }
}

/// The wire form of a timestamp of the years 0-9999 (every real one), on the stack.
fn wire_timestamp(ts: &DateTime<Utc>) -> Option<[u8; 24]> {
    let year = ts.year();
    if !(0..=9999).contains(&year) {
        return None;
    }
    let millis = ts.timestamp_subsec_millis().min(999);
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, value: u32, width: usize| {
        let mut v = value;
        for slot in buf[at..at + width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, ts.month(), 2);
    put(8, ts.day(), 2);
    put(11, ts.hour(), 2);
    put(14, ts.minute(), 2);
    put(17, ts.second().min(59), 2);
    put(20, millis, 3);
    Some(buf)
}

/// Serde adapter for the wire's timestamp form.
pub(crate) mod timestamp {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(ts: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        // On the stack: every entry serialized (the wire, NDJSON) has one.
        match wire_timestamp(ts) {
            Some(buf) => s.serialize_str(std::str::from_utf8(&buf).expect("ASCII digits")),
            None => s.serialize_str(&ts.to_rfc3339_opts(SecondsFormat::Millis, true)),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = DateTime<Utc>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an RFC 3339 timestamp")
            }
            // visit_str sees the text in place, so parsing allocates nothing.
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                if let Some(ts) = parse_wire_timestamp(text) {
                    return Ok(ts);
                }
                DateTime::parse_from_rfc3339(text)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| E::custom(format!("timestamp '{text}': {e}")))
            }
        }
        d.deserialize_str(Visitor)
    }

    /// The wire's own form, `2026-02-05T18:13:38.000Z`, read by hand: every line of vg's NDJSON has
    /// one, and chrono's general RFC 3339 parser costs several times more. Anything else (other
    /// offsets, precisions, an impossible date) is left to chrono.
    pub(crate) fn parse_wire_timestamp(text: &str) -> Option<DateTime<Utc>> {
        let b: &[u8; 24] = text.as_bytes().try_into().ok()?;
        if b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return None;
        }
        if b[19] != b'.' || b[23] != b'Z' {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u32> {
            b[from..to].iter().try_fold(0u32, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
            })
        };
        let date = chrono::NaiveDate::from_ymd_opt(
            i32::try_from(num(0, 4)?).ok()?,
            num(5, 7)?,
            num(8, 10)?,
        )?;
        let time =
            date.and_hms_milli_opt(num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?)?;
        Some(time.and_utc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the original design note, byte for byte.
    const ORIGINAL: &str = r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"GET /api/users 200 12ms","meta":{"method":"GET","path":"/api/users","statusCode":200,"duration":12,"userId":"user_123"}}"#;

    #[test]
    fn original_example_round_trips_byte_for_byte() {
        let entry: LogEntry = serde_json::from_str(ORIGINAL).unwrap();
        assert_eq!(entry.level, Level::Info);
        assert_eq!(entry.meta["statusCode"], 200);
        assert_eq!(entry.to_json(), ORIGINAL);
    }

    #[test]
    fn optional_fields_appear_only_when_set() {
        let mut entry: LogEntry = serde_json::from_str(ORIGINAL).unwrap();
        entry.instance = Some("148e".into());
        entry.region = Some("ord".into());
        entry.seq = Some(42);
        let json = entry.to_json();
        assert!(
            json.ends_with(r#""userId":"user_123"},"instance":"148e","region":"ord","seq":42}"#)
        );
        let back: LogEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn timestamps_format_like_chrono_across_the_calendar() {
        for secs in [
            0i64,
            951_782_400,
            1_770_315_218,
            4_102_444_799,
            253_402_300_799,
        ] {
            for millis in [0u32, 7, 999] {
                let ts = DateTime::from_timestamp(secs, millis * 1_000_000 + 123).unwrap();
                assert_eq!(
                    format_timestamp(&ts),
                    ts.to_rfc3339_opts(SecondsFormat::Millis, true)
                );
            }
        }
    }

    #[test]
    fn the_wire_timestamp_fast_path_reads_what_chrono_reads() {
        for text in [
            "2026-02-05T18:13:38.000Z",
            "1970-01-01T00:00:00.007Z",
            "2024-02-29T23:59:59.999Z",
            "9999-12-31T23:59:59.123Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(
                timestamp::parse_wire_timestamp(text),
                Some(chrono),
                "{text}"
            );
        }
        // Impossible dates and other forms are chrono's to judge (and reject or read).
        for text in [
            "2026-02-30T18:13:38.000Z",
            "2026-13-05T18:13:38.000Z",
            "2026-02-05T24:13:38.000Z",
            "2026-02-05T18:13:38.000+01:00",
            "2026-02-05T18:13:38Z",
            "2026-02-05 18:13:38.000Z",
            "2026-02-05T18:13:3x.000Z",
        ] {
            assert_eq!(timestamp::parse_wire_timestamp(text), None, "{text}");
        }
    }

    #[test]
    fn empty_meta_is_omitted_and_timestamps_keep_milliseconds() {
        let entry: LogEntry = serde_json::from_str(
            r#"{"timestamp":"2026-02-05T19:13:38.123456+01:00","level":"WARNING","source":"db","message":"slow"}"#,
        )
        .unwrap();
        assert_eq!(
            entry.to_json(),
            r#"{"timestamp":"2026-02-05T18:13:38.123Z","level":"warn","source":"db","message":"slow"}"#
        );
    }
}
