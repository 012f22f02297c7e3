//! An entry's wire JSON written straight from its packed fields, byte for byte what serializing
//! the decoded [`LogEntry`](crate::model::LogEntry) writes (docs/protocol.md).
//!
//! A backfill from disk used to decode every entry into a `LogEntry` (a dozen heap blocks: its
//! strings, meta keys and values) only to serialize it into the viewer's frame and free it again;
//! that was most of the server's CPU per entry in a replay (docs/benchmarks.md). Here the packed
//! strings are copied into the frame as they are, escaped only where JSON needs it. Whatever can
//! be written through serde_json is (timestamps, numbers, escaping), so the two forms cannot drift
//! apart; the unit tests compare them on awkward entries.

use serde::Serialize;
use serde_json::Number;

use super::{Fields, MAX_DEPTH, Reader};

/// Appends the entry's JSON to `out`; `false` (with `out` holding a partial write the caller cuts
/// off) if its meta is malformed, which [`decode`](super::decode) would refuse too.
pub(crate) fn write(fields: &Fields<'_>, out: &mut Vec<u8>) -> bool {
    out.extend_from_slice(b"{\"timestamp\":");
    serde_write(out, &Timestamp(fields.timestamp));
    out.extend_from_slice(b",\"level\":\"");
    out.extend_from_slice(fields.level.as_str().as_bytes());
    out.extend_from_slice(b"\",\"source\":");
    write_str(out, fields.source);
    out.extend_from_slice(b",\"message\":");
    write_str(out, fields.message);
    let mut meta = Reader { bytes: fields.meta };
    let Some(count) = meta.count() else {
        return false;
    };
    if count > 0 {
        out.extend_from_slice(b",\"meta\":");
        if !write_object(&mut meta, count, 0, out) {
            return false;
        }
    }
    if !meta.bytes.is_empty() {
        return false;
    }
    for (name, value) in [
        (&b",\"instance\":"[..], fields.instance),
        (b",\"region\":", fields.region),
    ] {
        if let Some(value) = value {
            out.extend_from_slice(name);
            write_str(out, value);
        }
    }
    out.extend_from_slice(b",\"seq\":");
    serde_write(out, &fields.seq);
    out.push(b'}');
    true
}

/// The timestamp as `LogEntry` serializes it (the wire's own adapter).
struct Timestamp(chrono::DateTime<chrono::Utc>);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::model::timestamp::serialize(&self.0, s)
    }
}

fn serde_write(out: &mut Vec<u8>, value: &(impl Serialize + ?Sized)) {
    // Writing into a Vec cannot fail, and these values always serialize.
    let _ = serde_json::to_writer(out, value);
}

/// A JSON string. Most log text needs no escape: it is copied as it is, between quotes; the rest
/// goes through serde_json's escaping.
fn write_str(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        serde_write(out, text);
    } else {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// `count` keys and values from `r`, as a JSON object.
fn write_object(r: &mut Reader<'_>, count: usize, depth: usize, out: &mut Vec<u8>) -> bool {
    out.push(b'{');
    for i in 0..count {
        if i > 0 {
            out.push(b',');
        }
        let Some(key) = r.str() else {
            return false;
        };
        write_str(out, key);
        out.push(b':');
        if !write_value(r, depth, out) {
            return false;
        }
    }
    out.push(b'}');
    true
}

/// One packed value as JSON (the forms of `packed`'s `value`, checked as it checks them).
fn write_value(r: &mut Reader<'_>, depth: usize, out: &mut Vec<u8>) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let Some(tag) = r.byte() else {
        return false;
    };
    match tag {
        0 => out.extend_from_slice(b"null"),
        1 => out.extend_from_slice(b"false"),
        2 => out.extend_from_slice(b"true"),
        3 => match r.varint() {
            Some(n) => serde_write(out, &n),
            None => return false,
        },
        4 => match r.varint().and_then(|n| i64::try_from(n).ok()) {
            Some(n) => serde_write(out, &!n),
            None => return false,
        },
        5 => {
            let bits = r.take(8).and_then(|b| b.try_into().ok());
            match bits.map(f64::from_le_bytes).and_then(Number::from_f64) {
                Some(n) => serde_write(out, &n),
                None => return false,
            }
        }
        6 => match r.str() {
            Some(text) => write_str(out, text),
            None => return false,
        },
        7 => {
            let Some(count) = r.count() else {
                return false;
            };
            out.push(b'[');
            for i in 0..count {
                if i > 0 {
                    out.push(b',');
                }
                if !write_value(r, depth + 1, out) {
                    return false;
                }
            }
            out.push(b']');
        }
        8 => match r.count() {
            Some(count) => return write_object(r, count, depth + 1, out),
            None => return false,
        },
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use serde_json::json;

    use super::*;
    use crate::model::{Level, LogEntry};
    use crate::server::store::disk::packed::{encode, fields};

    /// The JSON written from the packed form, and the JSON of the entry the same payload decodes to.
    fn both(entry: &LogEntry) -> (String, String) {
        let seq = entry.seq.unwrap_or(42);
        let micros = entry.timestamp.timestamp_micros();
        let mut payload = Vec::new();
        encode(&mut payload, entry);
        let mut written = Vec::new();
        assert!(write(&fields(&payload, seq, micros).unwrap(), &mut written));
        let decoded = super::super::decode(&payload, seq, micros).unwrap();
        (
            String::from_utf8(written).unwrap(),
            serde_json::to_string(&decoded).unwrap(),
        )
    }

    #[test]
    fn the_json_written_from_packed_bytes_is_the_serialized_entry_byte_for_byte() {
        let awkward = "quote \" backslash \\ slash / tab \t nl \n cr \r nul \0 bell \u{7} esc \u{1b}[31m del \u{7f} \
                       é ✓ 😀 bidi \u{202e} nbsp \u{a0} line sep \u{2028}";
        let mut plain = LogEntry::new(Level::Info, "api", "GET /api/users 200 12ms");
        plain.timestamp = DateTime::from_timestamp(1_770_315_218, 0).unwrap();
        let mut full = LogEntry::new(Level::Fatal, awkward, awkward);
        full.timestamp = DateTime::from_timestamp(1_770_315_218, 999_999_999).unwrap();
        full.instance = Some(awkward.into());
        full.region = Some(String::new());
        full.seq = Some(u64::MAX - 1);
        full = full
            .with_meta(awkward, json!(awkward))
            .with_meta("null", json!(null))
            .with_meta("bools", json!([true, false]))
            .with_meta("u64", json!(u64::MAX))
            .with_meta("i64", json!(i64::MIN))
            .with_meta("minus", json!(-1))
            .with_meta("zero", json!(0))
            .with_meta(
                "floats",
                json!([0.1, -3.25e-300, 1e300, 1.0, -0.0, 123_456_789.125]),
            )
            .with_meta(
                "nested",
                json!({"b": {"a": [1, "x\n", {}, []]}, "a": [], "": {"k": null}}),
            )
            .with_meta("", json!(""));
        let mut instance_only = LogEntry::new(Level::Trace, "", "");
        instance_only.timestamp = DateTime::from_timestamp(-1, 5).unwrap();
        instance_only.instance = Some("148e".into());
        let mut region_only = LogEntry::new(Level::Warn, "w", "m").with_meta("k", json!({}));
        region_only.region = Some("ams".into());
        let mut far = LogEntry::new(Level::Debug, "d", "year 1900 and 2262");
        far.timestamp = DateTime::from_timestamp(-2_208_988_800, 1_000).unwrap();
        for entry in [plain, full, instance_only, region_only, far] {
            let (written, serialized) = both(&entry);
            assert_eq!(written, serialized);
        }
        for level in Level::ALL {
            let (written, serialized) = both(&LogEntry::new(level, "s", "m"));
            assert_eq!(written, serialized);
        }
    }

    #[test]
    fn a_malformed_meta_is_refused_as_decoding_refuses_it() {
        let entry = LogEntry::new(Level::Info, "api", "hello").with_meta("k", json!([1, "two"]));
        let mut payload = Vec::new();
        encode(&mut payload, &entry);
        let fixed = payload.len() - 12;
        for cut in fixed..payload.len() {
            let Some(f) = fields(&payload[..cut], 1, 0) else {
                continue;
            };
            assert!(!write(&f, &mut Vec::new()), "cut at {cut}");
        }
        let mut longer = payload.clone();
        longer.push(0);
        assert!(!write(&fields(&longer, 1, 0).unwrap(), &mut Vec::new()));
    }
}
