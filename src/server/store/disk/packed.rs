//! An entry's payload from format 3 on: its fields in a compact binary form (docs/storage.md).
//!
//! Format 2 kept each entry as its JSON, and serializing it on the writer's thread and parsing it on
//! every read were most of what ingest and replay cost (docs/benchmarks.md). Here strings are a
//! length and their bytes, numbers are varints, and meta values keep JSON's data model (null, bool,
//! number, string, array, object), so an entry reads back exactly as it was emitted, key order
//! included. zstd still finds the repetition when a segment is sealed.
//!
//! ```text
//!   level u8 (0 trace .. 5 fatal) | nanoseconds below the head's microsecond u16 LE
//!   source str | message str | instance opt | region opt | meta: count varint, then key str, value
//!   str    varint length | UTF-8 bytes           opt    0 (none) | 1 then str
//!   value  0 null | 1 false | 2 true | 3 varint (u64) | 4 varint n (the i64 -1-n) | 5 f64 LE
//!          | 6 str | 7 count varint, values | 8 count varint, then key str, value
//! ```
//!
//! The checksum has already vouched for the bytes, but a decoder still trusts nothing: every
//! length is checked against what is left, nesting is bounded, and anything malformed is `None`.

mod json;

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::filter::Filter;
use crate::model::{Level, LogEntry, Meta, MetaKey};

/// Deepest nesting of meta values read back (serde_json refuses deeper JSON, so none is written).
const MAX_DEPTH: usize = 128;

/// Appends `entry`'s payload (its seq and time are in the record's head).
pub(crate) fn encode(out: &mut Vec<u8>, entry: &LogEntry) {
    out.push(entry.level.index() as u8);
    let below_micro = (entry.timestamp.timestamp_subsec_nanos() % 1000) as u16;
    out.extend_from_slice(&below_micro.to_le_bytes());
    put_str(out, &entry.source);
    put_str(out, &entry.message);
    put_opt(out, entry.instance.as_deref());
    put_opt(out, entry.region.as_deref());
    put_len(out, entry.meta.len());
    for (key, value) in &entry.meta {
        put_str(out, key);
        put_value(out, value);
    }
}

/// The entry a payload holds, with the record's `seq` and time (`micros`); `None` if malformed.
pub(crate) fn decode(payload: &[u8], seq: u64, micros: i64) -> Option<LogEntry> {
    let fields = fields(payload, seq, micros)?;
    Some(LogEntry {
        timestamp: fields.timestamp,
        level: fields.level,
        source: fields.source.to_owned(),
        message: fields.message.to_owned(),
        meta: fields.meta()?,
        instance: fields.instance.map(str::to_owned),
        region: fields.region.map(str::to_owned),
        seq: Some(seq),
    })
}

/// An entry's fields read in place from its payload, borrowing its strings: what a reader filters
/// on and writes out as JSON (`json`) without building a [`LogEntry`]. The meta stays packed until
/// asked for; whatever reads it checks it as [`decode`] does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    pub(crate) seq: u64,
    pub(crate) timestamp: DateTime<Utc>,
    pub(crate) level: Level,
    pub(crate) source: &'a str,
    pub(crate) message: &'a str,
    pub(crate) instance: Option<&'a str>,
    pub(crate) region: Option<&'a str>,
    /// The meta, packed: its count, then each key and value, and nothing after.
    meta: &'a [u8],
}

/// The fields of a payload, with the record's `seq` and time (`micros`); `None` if the part before
/// the meta is malformed.
pub(crate) fn fields(payload: &[u8], seq: u64, micros: i64) -> Option<Fields<'_>> {
    let mut r = Reader { bytes: payload };
    let level = *Level::ALL.get(usize::from(r.byte()?))?;
    let below_micro = u16::from_le_bytes(r.take(2)?.try_into().ok()?);
    if below_micro >= 1000 {
        return None;
    }
    let timestamp = DateTime::<Utc>::from_timestamp_micros(micros)?
        + chrono::Duration::nanoseconds(i64::from(below_micro));
    Some(Fields {
        seq,
        timestamp,
        level,
        source: r.str()?,
        message: r.str()?,
        instance: r.opt()?,
        region: r.opt()?,
        meta: r.bytes,
    })
}

impl Fields<'_> {
    /// The meta, decoded; `None` if malformed.
    pub(crate) fn meta(&self) -> Option<Meta> {
        let mut r = Reader { bytes: self.meta };
        let count = r.count()?;
        let mut fields: Vec<(MetaKey, Value)> = Vec::with_capacity(count);
        for _ in 0..count {
            let key = Cow::Owned(r.str()?.to_owned());
            fields.push((key, r.value(0)?));
        }
        r.bytes.is_empty().then(|| fields.into_iter().collect())
    }

    /// Whether the entry passes `filter`, tested on its fields in place (`meta` is decoded only
    /// for a `where` predicate); `None` if that `meta` turns out not to decode.
    pub(crate) fn passes(&self, filter: &Filter) -> Option<bool> {
        let mut meta_broken = false;
        let passes = filter.fields_match(
            self.level,
            self.source,
            self.instance,
            self.region,
            self.timestamp,
        ) && filter.matches_message_and_meta(self.message, || {
            let meta = self.meta();
            meta_broken = meta.is_none();
            meta
        });
        (!meta_broken).then_some(passes)
    }

    /// Appends the entry's wire JSON, exactly as serializing [`decode`]'s entry would; `false` if
    /// the meta is malformed (`out` then holds a partial write to cut off).
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) -> bool {
        json::write(self, out)
    }
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    put_varint(out, len as u64);
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_len(out, text.len());
    out.extend_from_slice(text.as_bytes());
}

fn put_opt(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => out.push(0),
        Some(text) => {
            out.push(1);
            put_str(out, text);
        }
    }
}

fn put_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(0),
        Value::Bool(false) => out.push(1),
        Value::Bool(true) => out.push(2),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                out.push(3);
                put_varint(out, u);
            } else if let Some(i) = n.as_i64() {
                // Negative here (a non-negative one is a u64 above): -1 is 0, -2 is 1...
                out.push(4);
                put_varint(out, (!i).cast_unsigned());
            } else {
                out.push(5);
                out.extend_from_slice(&n.as_f64().unwrap_or_default().to_le_bytes());
            }
        }
        Value::String(text) => {
            out.push(6);
            put_str(out, text);
        }
        Value::Array(items) => {
            out.push(7);
            put_len(out, items.len());
            for item in items {
                put_value(out, item);
            }
        }
        Value::Object(map) => {
            out.push(8);
            put_len(out, map.len());
            for (key, item) in map {
                put_str(out, key);
                put_value(out, item);
            }
        }
    }
}

/// What is left of a payload.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Option<u8> {
        let (&first, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(first)
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    fn varint(&mut self) -> Option<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            n |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Some(n);
            }
        }
        None
    }

    /// A count of things that take at least a byte each: never more than the bytes left, so a
    /// damaged count cannot make a huge allocation.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.bytes.len()).then_some(n)
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = self.count()?;
        std::str::from_utf8(self.take(len)?).ok()
    }

    fn opt(&mut self) -> Option<Option<&'a str>> {
        match self.byte()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }

    fn value(&mut self, depth: usize) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        Some(match self.byte()? {
            0 => Value::Null,
            1 => Value::Bool(false),
            2 => Value::Bool(true),
            3 => Value::Number(self.varint()?.into()),
            4 => Value::Number((!(i64::try_from(self.varint()?).ok()?)).into()),
            5 => {
                let bits = f64::from_le_bytes(self.take(8)?.try_into().ok()?);
                Value::Number(Number::from_f64(bits)?)
            }
            6 => Value::String(self.str()?.to_owned()),
            7 => {
                let count = self.count()?;
                let mut items = Vec::with_capacity(count);
                for _ in 0..count {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            8 => {
                let count = self.count()?;
                let mut map = Map::with_capacity(count);
                for _ in 0..count {
                    let key = self.str()?.to_owned();
                    map.insert(key, self.value(depth + 1)?);
                }
                Value::Object(map)
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(entry: &LogEntry) -> LogEntry {
        let mut out = Vec::new();
        encode(&mut out, entry);
        let micros = entry.timestamp.timestamp_micros();
        decode(&out, entry.seq.unwrap_or(7), micros).expect("an encoded entry decodes")
    }

    #[test]
    fn every_field_and_every_kind_of_meta_value_reads_back_exactly() {
        let mut entry = LogEntry::new(Level::Fatal, "api", "line one\nline \u{2713} two \"q\"");
        entry.timestamp = DateTime::from_timestamp(1_770_315_218, 123_456_789).unwrap();
        entry.instance = Some("148e".into());
        entry.region = Some(String::new());
        entry.seq = Some(u64::MAX);
        entry = entry
            .with_meta("zeta", json!(null))
            .with_meta("flags", json!([true, false, null]))
            .with_meta("big", json!(u64::MAX))
            .with_meta("neg", json!(i64::MIN))
            .with_meta("minus_one", json!(-1))
            .with_meta("zero", json!(0))
            .with_meta("pi", json!(-3.25e-300))
            .with_meta("nested", json!({"b": {"a": [1, "x", {}]}, "a": []}))
            .with_meta("", json!("empty key"));
        let back = round_trip(&entry);
        assert_eq!(back, entry);
        assert_eq!(back.to_json(), entry.to_json(), "key order survives");
        for level in Level::ALL {
            let plain = LogEntry::new(level, "s", "m");
            assert_eq!(round_trip(&plain).level, level);
        }
    }

    #[test]
    fn malformed_payloads_are_refused_not_trusted() {
        let entry = LogEntry::new(Level::Info, "api", "hello").with_meta("k", json!([1, 2]));
        let mut out = Vec::new();
        encode(&mut out, &entry);
        // Every cut short is refused, as is anything trailing.
        for cut in 0..out.len() {
            assert!(decode(&out[..cut], 1, 0).is_none(), "cut at {cut}");
        }
        let mut longer = out.clone();
        longer.push(0);
        assert!(decode(&longer, 1, 0).is_none());
        // An unknown level, a huge length, invalid UTF-8, nesting beyond the limit.
        let mut bad = out.clone();
        bad[0] = 6;
        assert!(decode(&bad, 1, 0).is_none());
        let mut huge = out[..3].to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(decode(&huge, 1, 0).is_none());
        let mut utf8 = out[..3].to_vec();
        utf8.extend_from_slice(&[1, 0xff]);
        assert!(decode(&utf8, 1, 0).is_none());
        let mut deep = out[..3].to_vec();
        deep.extend_from_slice(&[1, b's', 1, b'm', 0, 0, 1, 1, b'k']);
        deep.extend(std::iter::repeat_n([7, 1], MAX_DEPTH + 2).flatten());
        deep.push(0);
        assert!(decode(&deep, 1, 0).is_none());
    }
}
