//! The fields a filter decides on, read from a line in vg's own format without building the entry.
//!
//! A reader that drops most lines (`vg logs --file --level warn`) spends most of its time building
//! entries it then throws away: strings copied, `meta` turned into JSON values. [`Head::of`] reads
//! the same line in place instead: no allocation unless a string holds an escape, and `meta` is
//! checked but not kept.
//!
//! A merged viewer uses it too, to know that a record's JSON is an entry a client decodes before
//! passing it on as it is.
//!
//! It accepts exactly the lines [`decode_json`](super::decode_json) reads as native entries: the
//! same field names (unknown and repeated ones refused), the same types, the same timestamp and
//! level parsers, and every value in `meta` parsed as `serde_json::Value` would parse it (an
//! out-of-range number fails both). So a line it reads decodes to an entry with these very fields,
//! and a line it refuses is left to the full decoder; nothing is decided on a guess.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

use crate::model::Level;

/// The cheap fields of a native line, borrowed from it where it holds no escapes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    not(feature = "cli"),
    expect(
        dead_code,
        reason = "only the client's filter reads the fields; the server checks lines"
    )
)]
pub struct Head<'a> {
    /// When it happened.
    #[serde(with = "crate::model::timestamp")]
    pub timestamp: DateTime<Utc>,
    /// Severity.
    pub level: Level,
    /// The component that logged it.
    #[serde(borrow)]
    pub source: Cow<'a, str>,
    /// The message.
    #[serde(borrow)]
    pub message: Cow<'a, str>,
    #[serde(default)]
    #[expect(dead_code, reason = "checked as the full decoder would, never read")]
    meta: Checked,
    /// The instance, when named.
    #[serde(default, borrow)]
    pub instance: Option<Cow<'a, str>>,
    /// The region, when named.
    #[serde(default, borrow)]
    pub region: Option<Cow<'a, str>>,
    #[serde(default)]
    #[expect(dead_code, reason = "checked as the full decoder would, never read")]
    seq: Option<u64>,
}

impl<'a> Head<'a> {
    /// The head of `line` (one line, without its line end), if it is in vg's own format.
    pub fn of(line: &'a str) -> Option<Head<'a>> {
        // The full decoder tries JSON only for a line that starts with `{`.
        if !line.trim_start().starts_with('{') {
            return None;
        }
        serde_json::from_str(line).ok()
    }
}

/// A guess at a line's time, level, source and message, read at the places vg's own writer puts
/// them, without checking the rest of the line (an escaped quote cuts the guessed string short).
/// It costs a few compares, so a reader runs it on every line and pays for [`Head::of`] only when
/// the guess says the line would be dropped.
#[cfg(feature = "cli")]
#[derive(Debug)]
pub struct Guess<'a> {
    /// When it happened.
    pub timestamp: DateTime<Utc>,
    /// Severity.
    pub level: Level,
    /// The component, up to the first quote.
    pub source: &'a str,
    /// The message, up to the first quote.
    pub message: &'a str,
}

#[cfg(feature = "cli")]
impl<'a> Guess<'a> {
    /// The guess for a line in vg's field order; `None` for any other line.
    pub fn of(line: &'a str) -> Option<Guess<'a>> {
        let rest = line.strip_prefix(r#"{"timestamp":""#)?;
        let timestamp = crate::model::timestamp::parse_wire_timestamp(rest.get(..24)?)?;
        let rest = rest.get(24..)?.strip_prefix(r#"","level":""#)?;
        let (level, rest) = rest.split_once('"')?;
        let (source, rest) = rest.strip_prefix(r#","source":""#)?.split_once('"')?;
        let (message, _) = rest.strip_prefix(r#","message":""#)?.split_once('"')?;
        Some(Guess {
            timestamp,
            level: Level::parse(level).ok()?,
            source,
            message,
        })
    }
}

/// `meta`: a JSON object (as `Meta` reads it) whose values are parsed and dropped.
#[derive(Debug, Default)]
struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(AnyValue)
    }
}

/// Any JSON value, parsed the way `serde_json::Value` parses it (numbers included, so a number out
/// of range fails here as it fails there) and dropped. `IgnoredAny` would be more lenient.
#[derive(Debug)]
struct AnyValue;

impl<'de> Deserialize<'de> for AnyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AnyValue).map(|Checked| AnyValue)
    }
}

impl<'de> Visitor<'de> for AnyValue {
    type Value = Checked;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<AnyValue>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<AnyValue, AnyValue>()?.is_some() {}
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::decode::{LineKind, decode_line};

    /// Lines at the edges of what the native decoder takes, each either read by both or by neither.
    const LINES: &[&str] = &[
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m"}"#,
        r#"  {"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"WARNING","source":"api","message":"a \"q\" \u00e9\nb","meta":{"k":[1,2.5,{"x":null}],"b":true},"instance":"i-1","region":"ams","seq":7}"#,
        r#"{"timestamp":"2026-02-05T18:00:00+02:00","level":40,"source":"api","message":"m","meta":{}}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","seq":null,"instance":null}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"a\"b","message":"m","meta":{"k":1,"k":true}}"#,
        // Refused by both: unknown, repeated, missing or mistyped fields, a bad level or time.
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","extra":1}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","level":"debug","source":"api","message":"m"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","Level":"warn","source":"api","message":"m"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","message":"m"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"loud","source":"api","message":"m"}"#,
        r#"{"timestamp":"yesterday","level":"warn","source":"api","message":"m"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":5}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","meta":null}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","meta":[1]}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","meta":{"x":1e400}}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m","seq":-1}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"\ud800"}"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m"} trailing"#,
        r#"{"timestamp":"2026-02-05T18:00:00.000Z","level":"warn","source":"api","message":"m""#,
        r#"{"time":"2026-02-05T18:00:00.000Z","level":"warn","msg":"pino-ish"}"#,
        r#"level=warn msg="logfmt""#,
        "2026-02-05T18:00:00Z WARN plain text",
    ];

    #[test]
    fn reads_exactly_the_lines_the_native_decoder_reads_with_the_same_fields() {
        for line in LINES {
            let (entry, kind) = decode_line(line, "default");
            match Head::of(line) {
                Some(head) => {
                    assert_eq!(kind, LineKind::Native, "{line}");
                    assert_eq!(head.timestamp, entry.timestamp, "{line}");
                    assert_eq!(head.level, entry.level, "{line}");
                    assert_eq!(head.source, entry.source, "{line}");
                    assert_eq!(head.message, entry.message, "{line}");
                    assert_eq!(
                        head.instance.as_deref(),
                        entry.instance.as_deref(),
                        "{line}"
                    );
                    assert_eq!(head.region.as_deref(), entry.region.as_deref(), "{line}");
                }
                None => assert_ne!(kind, LineKind::Native, "{line}"),
            }
        }
        assert_eq!(
            LINES.iter().filter(|l| Head::of(l).is_some()).count(),
            6,
            "the first six lines are native"
        );
    }

    #[cfg(feature = "cli")]
    #[test]
    fn a_guess_reads_vg_field_order_only() {
        let guess = Guess::of(LINES[0]).unwrap();
        assert_eq!(
            (guess.level, guess.source, guess.message),
            (Level::Warn, "api", "m")
        );
        // Cut at the escaped quote: a guess, which the exact read then corrects.
        assert_eq!(Guess::of(LINES[2]).unwrap().message, "a \\");
        assert!(Guess::of(LINES[1]).is_none(), "leading space");
        assert!(Guess::of(LINES[3]).is_none(), "not the wire's time");
        assert!(Guess::of(LINES[20]).is_none(), "another logger");
    }

    #[test]
    fn borrows_strings_without_escapes() {
        let head = Head::of(LINES[0]).unwrap();
        assert!(matches!(head.message, Cow::Borrowed("m")));
        assert!(matches!(head.source, Cow::Borrowed("api")));
    }
}
