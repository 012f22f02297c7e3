//! Stream records as the publisher writes them, read straight from Redis's reply: each record's
//! fields are taken apart in place (their bytes moved, not copied) without building a map per
//! record, which is what the merged stream spends most of its reading time on at high rates.

use redis::Value;

use crate::model::LogEntry;
use crate::model::decode::Head;

/// One stream record: where it stands in the stream, who published it, and its entry's JSON.
pub(super) struct Record {
    /// The Redis stream id, the merged cursor.
    pub(super) id: String,
    /// Who published it: the instance and its stream identity (boot) as one key, since a data dir
    /// copied to another instance keeps its boot. Seqs count within it.
    pub(super) origin: String,
    /// The entry's seq in that origin.
    pub(super) seq: u64,
    /// On the record an instance adds when it starts again after a crash (no entry): the first
    /// of the seqs `from..=seq` the crash may have lost.
    pub(super) restart_from: Option<u64>,
    json: Vec<u8>,
}

impl Record {
    /// The entry it carries; one that does not decode is skipped (it came from something else
    /// writing to the stream).
    pub(super) fn entry(&self) -> Option<LogEntry> {
        serde_json::from_slice(&self.json).ok()
    }

    /// The entry's JSON as published, when it is an entry a client decodes (checked in place,
    /// without building one: see [`Head`]); `None` for anything else written to the stream.
    pub(super) fn take_json(&mut self) -> Option<String> {
        let json = String::from_utf8(std::mem::take(&mut self.json)).ok()?;
        Head::of(&json).is_some().then_some(json)
    }
}

/// The records of an `XREAD` reply for one stream (nothing when it timed out empty).
pub(super) fn of_xread(reply: Value) -> Vec<Record> {
    // RESP2: [[stream, records]]; RESP3: {stream: records}.
    let streams = match reply {
        Value::Array(streams) => streams
            .into_iter()
            .filter_map(|stream| match stream {
                Value::Array(mut pair) if pair.len() == 2 => pair.pop(),
                _ => None,
            })
            .collect(),
        Value::Map(pairs) => pairs.into_iter().map(|(_, records)| records).collect(),
        _ => Vec::new(),
    };
    streams.into_iter().flat_map(of_range).collect()
}

/// The records of an `XRANGE`/`XREVRANGE` reply, in its order.
pub(super) fn of_range(reply: Value) -> Vec<Record> {
    match reply {
        Value::Array(records) => records.into_iter().filter_map(record).collect(),
        _ => Vec::new(),
    }
}

/// `[id, [field, value, ...]]` as a record, or `None` when a field vg writes is missing.
fn record(raw: Value) -> Option<Record> {
    let Value::Array(parts) = raw else {
        return None;
    };
    let mut parts = parts.into_iter();
    let id = text(parts.next()?)?;
    let fields = match parts.next()? {
        Value::Array(fields) => fields,
        Value::Map(pairs) => pairs.into_iter().flat_map(|(k, v)| [k, v]).collect(),
        _ => return None,
    };
    let (mut boot, mut instance, mut seq, mut json, mut restart_from) =
        (None, None, None, None, None);
    let mut fields = fields.into_iter();
    while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
        match bytes(name).as_deref() {
            Some(b"b") => boot = text(value),
            Some(b"i") => instance = text(value),
            Some(b"s") => seq = text(value).and_then(|s| s.parse().ok()),
            Some(b"e") => json = bytes(value),
            Some(b"r") => restart_from = text(value).and_then(|s| s.parse().ok()),
            _ => {}
        }
    }
    // A restart record carries no entry; any other record without one is not vg's.
    let json = match (json, restart_from) {
        (Some(json), _) => json,
        (None, Some(_)) => Vec::new(),
        (None, None) => return None,
    };
    let boot = boot?;
    let origin = match instance {
        Some(instance) => format!("{instance}\u{1f}{boot}"),
        None => boot,
    };
    Some(Record {
        id,
        origin,
        seq: seq?,
        restart_from,
        json,
    })
}

fn bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

fn text(value: Value) -> Option<String> {
    String::from_utf8(bytes(value)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(text: &str) -> Value {
        Value::BulkString(text.as_bytes().to_vec())
    }

    fn raw(id: &str, fields: &[(&str, &str)]) -> Value {
        Value::Array(vec![
            bulk(id),
            Value::Array(
                fields
                    .iter()
                    .flat_map(|(k, v)| [bulk(k), bulk(v)])
                    .collect(),
            ),
        ])
    }

    #[test]
    fn records_are_read_from_either_protocol_and_foreign_ones_are_skipped() {
        let entry = r#"{"timestamp":"2026-02-05T18:00:00Z","level":"info","source":"api","message":"hi","seq":7}"#;
        let ours = raw(
            "5-1",
            &[("b", "boot"), ("i", "web-1"), ("s", "7"), ("e", entry)],
        );
        let foreign = raw("5-2", &[("hello", "world")]);
        let records = Value::Array(vec![
            ours,
            foreign,
            raw("5-3", &[("b", "x"), ("s", "1"), ("e", "not json")]),
        ]);
        let resp2 = Value::Array(vec![Value::Array(vec![bulk("vg:logs"), records.clone()])]);
        let resp3 = Value::Map(vec![(bulk("vg:logs"), records)]);
        for reply in [resp2, resp3] {
            let got = of_xread(reply);
            assert_eq!(
                got.iter()
                    .map(|r| (r.id.as_str(), r.origin.as_str(), r.seq))
                    .collect::<Vec<_>>(),
                [("5-1", "web-1\u{1f}boot", 7), ("5-3", "x", 1)]
            );
            assert_eq!(got[0].entry().map(|e| e.message), Some("hi".to_owned()));
            assert!(got[1].entry().is_none(), "not an entry: skipped when shown");
            let mut got = got;
            assert_eq!(
                got[0].take_json().as_deref(),
                Some(entry),
                "passed on as it came"
            );
            assert_eq!(got[1].take_json(), None);
        }
        assert!(of_xread(Value::Nil).is_empty(), "a BLOCK that timed out");
        // An instance's restart record: no entry, the crash's first lost seq in `r`.
        let restart = raw(
            "6-1",
            &[("b", "boot"), ("i", "web-1"), ("s", "4096"), ("r", "21")],
        );
        let mut got = of_range(Value::Array(vec![restart]));
        assert_eq!(
            (got[0].seq, got[0].restart_from),
            (4096, Some(21)),
            "a restart record"
        );
        assert_eq!(got[0].take_json(), None, "with no entry to show");
    }
}
