//! Lenient decoding: turn whatever a program wrote into a [`LogEntry`].
//!
//! vg reads its own format first (the fast path, a plain serde decode). Anything else that is a JSON
//! object is mapped field by field from the conventions of pino/bunyan, zap/logrus, tracing-subscriber's
//! JSON, Fly's NDJSON and Docker's json-file driver; whatever is not recognised lands in `meta`, so
//! nothing the program wrote is lost. A logfmt line (`level=error msg="db down" k=v`) is mapped the
//! same way from its pairs (the `logfmt` module). Any other line becomes an entry whose message is
//! the line, at the level it names (`ERROR`, `[warn]`, `level=error`...; else `info`) and the time
//! it starts with (else now): see the `text` module. Streams of lines go through [`LineDecoder`],
//! which also joins continuation lines (stack traces) to the entry above.

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::{Map, Value};

use super::{Level, LogEntry, Meta};

mod flat;
#[cfg(any(feature = "cli", feature = "server"))]
mod head;
mod lines;
mod logfmt;
mod shape;
mod text;

pub(crate) use flat::printable_ascii;
pub use flat::{FlatLine, FlatPairs, FlatValue, MAX_FLAT_META};
#[cfg(feature = "cli")]
pub(crate) use head::Guess;
#[cfg(any(feature = "cli", feature = "server"))]
pub(crate) use head::Head;
pub use lines::{
    EntryStarts, JOIN_IDLE, LineDecoder, MAX_JOINED_BYTES, MAX_JOINED_LINES, may_continue,
};
pub use shape::{ShapeError, ShapeLimits, check_shape};

/// Lines longer than this are cut (and counted as damaged) so one runaway line cannot exhaust memory.
pub const MAX_LINE_BYTES: usize = 1024 * 1024;

/// How a line was understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    /// vg's own JSON format.
    Native,
    /// Another tool's JSON log format, mapped field by field.
    Foreign,
    /// logfmt (`level=error msg="db down" k=v`), mapped like a foreign JSON object.
    Logfmt,
    /// Neither JSON nor logfmt: the whole line became the message.
    Text,
}

/// Why a JSON value could not become an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The text is not valid JSON.
    #[error("not valid JSON ({0}); send one JSON object per line")]
    Json(String),
    /// Valid JSON, but not an object.
    #[error("expected a JSON object, found {0}")]
    NotAnObject(&'static str),
}

/// Decodes one JSON object, native or foreign. Strict about JSON, lenient about field names.
///
/// `default_source` names the entry when the object carries no source of its own.
pub fn decode_json(text: &str, default_source: &str) -> Result<(LogEntry, LineKind), DecodeError> {
    if let Ok(entry) = serde_json::from_str::<LogEntry>(text) {
        return Ok((entry, LineKind::Native));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| DecodeError::Json(e.to_string()))?;
    match value {
        Value::Object(object) => Ok((from_foreign(object, default_source), LineKind::Foreign)),
        other => Err(DecodeError::NotAnObject(json_kind(&other))),
    }
}

/// Decodes one line of a log stream leniently: JSON when it is a JSON object, otherwise plain text.
pub fn decode_line(line: &str, default_source: &str) -> (LogEntry, LineKind) {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.trim_start().starts_with('{')
        && let Ok(decoded) = decode_json(trimmed, default_source)
    {
        return decoded;
    }
    if let Some(pairs) = logfmt::pairs(trimmed) {
        return (from_foreign(pairs, default_source), LineKind::Logfmt);
    }
    (text::entry(trimmed, default_source), LineKind::Text)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

const TIME_KEYS: &[&str] = &[
    "timestamp",
    "time",
    "ts",
    "@timestamp",
    "datetime",
    "date",
    "t",
];
const MESSAGE_KEYS: &[&str] = &["message", "msg", "@message", "text", "log"];
const LEVEL_KEYS: &[&str] = &[
    "level",
    "lvl",
    "severity",
    "levelname",
    "level_name",
    "loglevel",
];
const SOURCE_KEYS: &[&str] = &[
    "source",
    "name",
    "target",
    "logger",
    "logger_name",
    "component",
    "service",
];

/// Removes and returns the first of `keys` present in `object`, compared case-insensitively.
fn take(object: &mut Map<String, Value>, keys: &[&str]) -> Option<Value> {
    let found = object
        .keys()
        .find(|k| keys.iter().any(|want| k.eq_ignore_ascii_case(want)))?
        .clone();
    object.shift_remove(&found)
}

/// Whether a JSON log line carries a time of its own (only consulted for Docker payloads).
fn has_time_key(json: &str) -> bool {
    serde_json::from_str::<Map<String, Value>>(json).is_ok_and(|o| {
        o.keys()
            .any(|k| TIME_KEYS.iter().any(|t| k.eq_ignore_ascii_case(t)))
    })
}

fn take_str(object: &mut Map<String, Value>, keys: &[&str]) -> Option<String> {
    match take(object, keys)? {
        Value::String(s) => Some(s),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Maps a foreign log object onto the schema; unrecognised fields are kept in `meta`.
fn from_foreign(mut object: Map<String, Value>, default_source: &str) -> LogEntry {
    let mut meta = Meta::new();

    // Docker json-file: {"log":"<the app's line>\n","stream":"stderr","time":"..."}; the app's line may
    // itself be a JSON log, so decode it and let the outer fields fill in what it lacks.
    if let Some(Value::String(inner)) = object.get("log").cloned()
        && object.contains_key("stream")
    {
        let (mut entry, kind) = decode_line(&inner, default_source);
        let outer_time = take(&mut object, TIME_KEYS).and_then(|v| parse_time_value(&v));
        if let Some(time) = outer_time
            && (kind == LineKind::Text || !has_time_key(&inner))
        {
            entry.timestamp = time;
        }
        object.shift_remove("log");
        entry.meta.extend_missing(object);
        return entry;
    }

    // Fly: {"fly":{"app":{"instance":..,"name":..},"region":..},"log":{"level":..},"message":..}
    let mut instance = take_str(&mut object, &["instance"]);
    let mut region = take_str(&mut object, &["region"]);
    let mut source = None;
    let mut level_value = take(&mut object, LEVEL_KEYS);
    if let Some(Value::Object(mut fly)) = take(&mut object, &["fly"]) {
        if let Some(Value::Object(mut app)) = fly.shift_remove("app") {
            instance = instance.or_else(|| take_str(&mut app, &["instance"]));
            source = take_str(&mut app, &["name"]);
            if !app.is_empty() {
                meta.insert("fly.app", app);
            }
        }
        region = region.or_else(|| take_str(&mut fly, &["region"]));
        if !fly.is_empty() {
            meta.insert("fly", fly);
        }
    }
    if let Some(Value::Object(log)) = object.get_mut("log") {
        if level_value.is_none() {
            level_value = take(log, &["level"]);
        }
        if log.is_empty() {
            object.shift_remove("log");
        }
    }

    let mut message = take_str(&mut object, MESSAGE_KEYS);
    // tracing-subscriber's JSON: {"fields":{"message":..,"k":v},"target":..,"span":..,"spans":[..]}
    if let Some(Value::Object(mut fields)) = take(&mut object, &["fields"]) {
        if message.is_none() {
            message = take_str(&mut fields, &["message"]);
        }
        meta.extend(fields);
    }

    let timestamp = match take(&mut object, TIME_KEYS) {
        Some(value) => parse_time_value(&value).unwrap_or_else(|| {
            meta.insert("timestamp", value);
            Utc::now()
        }),
        None => Utc::now(),
    };
    let level = match level_value {
        Some(value) => parse_level_value(&value).unwrap_or_else(|| {
            meta.insert("level", value);
            Level::Info
        }),
        None => Level::Info,
    };
    let source = take_str(&mut object, SOURCE_KEYS)
        .or(source)
        .unwrap_or_else(|| default_source.to_owned());

    // Our own `meta` object, if present, is merged flat rather than nested as meta.meta.
    if let Some(Value::Object(own)) = take(&mut object, &["meta"]) {
        meta.extend(own);
    }
    meta.extend(object);

    LogEntry {
        timestamp,
        level,
        source,
        message: message.unwrap_or_default(),
        meta,
        instance,
        region,
        seq: None,
    }
}

fn parse_level_value(value: &Value) -> Option<Level> {
    match value {
        Value::String(s) => Level::parse(s).ok(),
        Value::Number(n) => n.as_f64().and_then(Level::from_number),
        _ => None,
    }
}

/// Reads a timestamp written as RFC 3339 (or close to it) or as epoch seconds/ms/µs/ns.
pub fn parse_time_value(value: &Value) -> Option<DateTime<Utc>> {
    match value {
        Value::String(s) => parse_time_text(s),
        // Integers are exact as they are; a float is read from its shortest decimal form (what the
        // logger wrote, e.g. zap's `1770315218.25`), never multiplied as an f64: at epoch magnitudes an
        // f64 product lands a few hundred nanoseconds off and `.25` would show as `.249`.
        Value::Number(n) => match n.as_u64() {
            Some(whole) => from_epoch(u128::from(whole), 0),
            None => from_epoch_text(&n.to_string()),
        },
        _ => None,
    }
}

fn parse_time_text(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    // No zone written: vg assumes UTC, as servers log.
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S,%f",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(text, format) {
            return Some(Utc.from_utc_datetime(&t));
        }
    }
    from_epoch_text(text)
}

/// Most significant digits kept of an epoch number; the rest cannot change the nanosecond.
const EPOCH_DIGITS: u32 = 30;

/// An epoch number written in decimal (`1770315218`, `1770315218.25`, `1.77031521825e9`), read
/// exactly as `digits × 10^exponent`. Negative numbers, NaN and infinities are not times.
fn from_epoch_text(text: &str) -> Option<DateTime<Utc>> {
    let text = text.strip_prefix('+').unwrap_or(text);
    let (number, exponent) = match text.find(['e', 'E']) {
        Some(at) => (&text[..at], text[at + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let mut digits: u128 = 0;
    let mut kept = 0;
    let mut exponent = i64::from(exponent);
    for (c, in_fraction) in whole
        .chars()
        .map(|c| (c, false))
        .chain(fraction.chars().map(|c| (c, true)))
    {
        let d = c.to_digit(10)?;
        if kept < EPOCH_DIGITS {
            if digits > 0 || d > 0 {
                kept += 1;
            }
            digits = digits * 10 + u128::from(d);
            exponent -= i64::from(in_fraction);
        } else {
            exponent += i64::from(!in_fraction);
        }
    }
    from_epoch(digits, i32::try_from(exponent).ok()?)
}

/// `digits × 10^exponent` as an epoch time. Epoch numbers come in seconds (zap, often fractional),
/// milliseconds (pino), µs or ns; the magnitude tells which, since any date after 1973 in seconds is
/// at least 1e8 and below 1e11. The result is rounded to the nearest nanosecond.
fn from_epoch(digits: u128, exponent: i32) -> Option<DateTime<Utc>> {
    if digits == 0 {
        return Some(Utc.timestamp_nanos(0));
    }
    // The number has this many digits before its decimal point (maybe 0 or fewer).
    let whole_digits = i64::from(digits.ilog10()) + 1 + i64::from(exponent);
    let to_nanos: i64 = match whole_digits {
        ..=11 => 9,
        12..=14 => 6,
        15..=17 => 3,
        _ => 0,
    };
    let shift = i64::from(exponent) + to_nanos;
    let nanos = if shift >= 0 {
        10u128
            .checked_pow(u32::try_from(shift).ok()?)
            .and_then(|scale| digits.checked_mul(scale))?
    } else {
        match 10u128.checked_pow(u32::try_from(-shift).ok()?) {
            Some(scale) => {
                let (quotient, rest) = (digits / scale, digits % scale);
                quotient + u128::from(rest >= scale - rest)
            }
            None => 0,
        }
    };
    Some(Utc.timestamp_nanos(i64::try_from(nanos).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::format_timestamp;

    fn foreign(line: &str) -> LogEntry {
        let (entry, kind) = decode_line(line, "stdin");
        assert_eq!(kind, LineKind::Foreign, "{line}");
        entry
    }

    #[test]
    fn native_lines_take_the_fast_path() {
        let line = r#"{"timestamp":"2026-02-05T18:13:38.000Z","level":"info","source":"api","message":"hi","seq":7}"#;
        let (entry, kind) = decode_line(line, "stdin");
        assert_eq!(kind, LineKind::Native);
        assert_eq!(entry.seq, Some(7));
    }

    #[test]
    fn pino() {
        let e = foreign(
            r#"{"level":50,"time":1770315218000,"pid":4242,"hostname":"web-1","name":"api","msg":"db timeout","reqId":"r-1"}"#,
        );
        assert_eq!(e.level, Level::Error);
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.000Z");
        assert_eq!(e.source, "api");
        assert_eq!(e.message, "db timeout");
        assert_eq!(e.meta["pid"], 4242);
        assert_eq!(e.meta["hostname"], "web-1");
        assert_eq!(e.meta["reqId"], "r-1");
    }

    #[test]
    fn bunyan() {
        let e = foreign(
            r#"{"name":"worker","hostname":"h","pid":1,"level":40,"msg":"retrying","time":"2026-02-05T18:13:38.250Z","v":0}"#,
        );
        assert_eq!(
            (e.level, e.source.as_str(), e.message.as_str()),
            (Level::Warn, "worker", "retrying")
        );
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.250Z");
        assert_eq!(e.meta["v"], 0);
    }

    #[test]
    fn zap() {
        let e = foreign(
            r#"{"level":"warn","ts":1770315218.5,"logger":"db","caller":"db/pool.go:88","msg":"pool exhausted","size":20}"#,
        );
        assert_eq!((e.level, e.source.as_str()), (Level::Warn, "db"));
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.500Z");
        assert_eq!(e.meta["caller"], "db/pool.go:88");
        assert_eq!(e.meta["size"], 20);
    }

    #[test]
    fn logrus() {
        let e = foreign(
            r#"{"level":"warning","msg":"disk almost full","time":"2026-02-05T19:13:38+01:00","free_mb":12}"#,
        );
        assert_eq!(e.level, Level::Warn);
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.000Z");
        assert_eq!(e.source, "stdin");
        assert_eq!(e.meta["free_mb"], 12);
    }

    #[test]
    fn tracing_subscriber_json() {
        let e = foreign(
            r#"{"timestamp":"2026-02-05T18:13:38.000001Z","level":"ERROR","fields":{"message":"request failed","status":503},"target":"app::http","span":{"name":"request","id":"9"},"spans":[{"name":"request"}]}"#,
        );
        assert_eq!(
            (e.level, e.source.as_str(), e.message.as_str()),
            (Level::Error, "app::http", "request failed")
        );
        assert_eq!(e.meta["status"], 503);
        assert_eq!(e.meta["span"]["name"], "request");
        assert!(e.meta.contains_key("spans"));
    }

    #[test]
    fn fly_ndjson() {
        let e = foreign(
            r#"{"event":{"provider":"app"},"fly":{"app":{"instance":"148e","name":"shop"},"region":"ord"},"host":"a1b2","log":{"level":"info"},"message":"listening on 0.0.0.0:8080","timestamp":"2026-02-05T18:13:38.000Z"}"#,
        );
        assert_eq!(e.instance.as_deref(), Some("148e"));
        assert_eq!(e.region.as_deref(), Some("ord"));
        assert_eq!(e.source, "shop");
        assert_eq!(e.message, "listening on 0.0.0.0:8080");
        assert_eq!(e.meta["host"], "a1b2");
        assert!(!e.meta.contains_key("log"));
    }

    #[test]
    fn docker_json_file_with_plain_and_json_payloads() {
        let e = foreign(
            r#"{"log":"listening on :80\n","stream":"stdout","time":"2026-02-05T18:13:38.123456789Z"}"#,
        );
        assert_eq!(e.message, "listening on :80");
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.123Z");
        assert_eq!(e.meta["stream"], "stdout");

        let e = foreign(
            r#"{"log":"{\"level\":\"error\",\"msg\":\"boom\",\"name\":\"api\"}\n","stream":"stderr","time":"2026-02-05T18:13:38Z"}"#,
        );
        assert_eq!(
            (e.level, e.source.as_str(), e.message.as_str()),
            (Level::Error, "api", "boom")
        );
        assert_eq!(e.meta["stream"], "stderr");
    }

    #[test]
    fn epoch_units_are_told_apart_by_magnitude() {
        let want = "2026-02-05T18:13:38.000Z";
        for n in [
            "1770315218",
            "1770315218000",
            "1770315218000000",
            "1770315218000000000",
        ] {
            let e = foreign(&format!(r#"{{"ts":{n},"msg":"x"}}"#));
            assert_eq!(format_timestamp(&e.timestamp), want, "{n}");
        }
    }

    #[test]
    fn epoch_numbers_are_rounded_to_the_nanosecond_never_cut() {
        // (what the logger wrote, the nanoseconds past 18:13:38 it means)
        let cases = [
            ("1770315218", 0),
            ("1770315218.25", 250_000_000),
            ("1770315218.1", 100_000_000),
            ("1770315218.2499999996", 250_000_000),
            ("1.77031521825e9", 250_000_000),
            ("1770315218250", 250_000_000),
            ("1770315218250.5", 250_500_000),
            ("1770315218250000", 250_000_000),
            ("1770315218250000.5", 250_000_500),
            ("1770315218250000123", 250_000_123),
            ("1.77031521825e18", 250_000_000),
        ];
        for (written, nanos) in cases {
            let as_number = foreign(&format!(r#"{{"ts":{written},"msg":"x"}}"#));
            let as_string = foreign(&format!(r#"{{"ts":"{written}","msg":"x"}}"#));
            for (how, e) in [("number", as_number), ("string", as_string)] {
                assert_eq!(
                    e.timestamp.timestamp(),
                    1_770_315_218,
                    "{written} as a {how}"
                );
                assert_eq!(
                    e.timestamp.timestamp_subsec_nanos(),
                    nanos,
                    "{written} as a {how}"
                );
            }
        }
        // zap's fractional seconds, as the wire shows them.
        let e = foreign(r#"{"level":"info","ts":1770315218.25,"msg":"x"}"#);
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.250Z");
    }

    #[test]
    fn what_is_not_an_epoch_number_is_kept_in_meta() {
        for written in [
            r#""-1770315218""#,
            r#""1770315218.2.5""#,
            r#""NaN""#,
            "-5",
            "1e300",
        ] {
            let e = foreign(&format!(r#"{{"ts":{written},"msg":"x"}}"#));
            assert!(e.meta.contains_key("timestamp"), "{written}");
        }
    }

    #[test]
    fn unreadable_fields_are_kept_in_meta() {
        let e = foreign(r#"{"msg":"x","level":"loud","time":"yesterday-ish"}"#);
        assert_eq!(e.level, Level::Info);
        assert_eq!(e.meta["level"], "loud");
        assert_eq!(e.meta["timestamp"], "yesterday-ish");
    }

    #[test]
    fn text_and_non_object_json_become_info_messages() {
        for line in ["plain words", "[1,2,3]", "{not json", "42"] {
            let (e, kind) = decode_line(line, "stdin");
            assert_eq!(
                (kind, e.level, e.message.as_str()),
                (LineKind::Text, Level::Info, line)
            );
        }
    }

    #[test]
    fn logfmt_lines_decode_into_fields() {
        let (e, kind) = decode_line(
            r#"time=2026-02-05T18:13:41.5Z level=warn msg="db \"main\" slow" logger=db retries=3 path=/api"#,
            "stdin",
        );
        assert_eq!(kind, LineKind::Logfmt);
        assert_eq!(
            (e.level, e.source.as_str(), e.message.as_str()),
            (Level::Warn, "db", "db \"main\" slow")
        );
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:41.500Z");
        assert_eq!(e.meta["retries"], "3");
        assert_eq!(e.meta["path"], "/api");
        // slog's and logrus's epoch and level spellings.
        let (e, _) = decode_line("ts=1770315218 lvl=ERROR msg=boom", "stdin");
        assert_eq!((e.level, e.message.as_str()), (Level::Error, "boom"));
        assert_eq!(format_timestamp(&e.timestamp), "2026-02-05T18:13:38.000Z");
        // Prose with an `=` stays text.
        let (_, kind) = decode_line("retrying with timeout=5s", "stdin");
        assert_eq!(kind, LineKind::Text);
    }

    #[test]
    fn decode_json_explains_what_is_wrong() {
        let err = decode_json("[1]", "x").unwrap_err();
        assert_eq!(err.to_string(), "expected a JSON object, found an array");
        assert!(
            decode_json("{oops", "x")
                .unwrap_err()
                .to_string()
                .starts_with("not valid JSON")
        );
    }
}
