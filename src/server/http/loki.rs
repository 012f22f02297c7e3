//! `POST /loki/api/v1/push`: Grafana Loki's push API, so promtail, Grafana Alloy, Docker's Loki
//! driver and the Loki client libraries can ship to vg unchanged.
//!
//! Two bodies, as Loki takes them: snappy-compressed protobuf (`application/x-protobuf`, or no
//! `Content-Type`; what most clients send) and JSON (`application/json`, gzip or deflate allowed).
//! Stream labels give the entry its source, level, instance and region; the rest of them, and each
//! line's structured metadata, go to meta. A line that is itself a JSON log (pino, zap...) is decoded
//! as vg reads any line; the push's timestamp and the stream's labels win over what it says.
//!
//! Like Loki, a push is answered `204` when everything was taken, and `400` with one line saying
//! what was wrong when a stream's labels or an entry could not be read; the good entries of such a
//! push are kept (clients do not resend on a 400, so nothing is duplicated either).

mod labels;
mod proto;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use prost::Message as _;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::auth::IngestAuthorized;
use super::body::{self, BodyError, Encoding};
use super::counters::Ingest;
use super::state::Shared;
use crate::model::decode::decode_line;
use crate::model::{DEFAULT_SOURCE, Level, LogEntry};

/// The path Loki clients push to.
pub(crate) const PATH: &str = "/loki/api/v1/push";

/// The error line names at most this many rejected streams or entries.
const MAX_REPORTED: usize = 3;

/// Labels read as the entry's own fields, each from the first of its names present. Loki has no
/// fixed names: these are what promtail, Alloy, Kubernetes and the client libraries commonly set.
const SOURCE_LABELS: &[&str] = &[
    "source",
    "service_name",
    "service",
    "app",
    "application",
    "job",
    "container",
];
const LEVEL_LABELS: &[&str] = &["level", "detected_level", "severity", "lvl", "loglevel"];
const INSTANCE_LABELS: &[&str] = &["instance", "host", "hostname", "pod"];
const REGION_LABELS: &[&str] = &["region", "cloud_region"];

pub(crate) async fn handle(
    _: IngestAuthorized,
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    // Held until the batch is emitted: the parsed batch is what the limit bounds.
    let _slot = match body::slot(&shared).await {
        Ok(permit) => permit,
        Err(busy) => {
            shared.metrics.refused(Ingest::Loki);
            return busy.into_response();
        }
    };
    match receive(&shared, &headers, body).await {
        Ok(batch) => {
            let rejected = batch.rejected;
            let summary = batch.summary();
            shared.metrics.rejected(Ingest::Loki, rejected);
            shared.metrics.ingested(Ingest::Loki, batch.entries.len());
            for entry in batch.entries {
                shared.emitter.record(entry);
            }
            if rejected == 0 {
                StatusCode::NO_CONTENT.into_response()
            } else {
                BodyError::Bad(summary).into_response()
            }
        }
        Err(refused) => {
            shared.metrics.refused(Ingest::Loki);
            refused.into_response()
        }
    }
}

async fn receive(shared: &Shared, headers: &HeaderMap, body: Body) -> Result<Batch, BodyError> {
    let json = match body::content_type(headers).as_str() {
        "application/json" => true,
        // Loki reads a push without a Content-Type as protobuf, and so does vg.
        "application/x-protobuf" | "" => false,
        other => {
            return Err(BodyError::UnsupportedType {
                got: other.to_owned(),
                want: "application/x-protobuf (snappy) or application/json (Loki push)",
            });
        }
    };
    let encoding = body::encoding(headers)?;
    let limit = shared.config.max_ingest_bytes;
    let bytes = body::read(headers, body, limit).await?;
    let bytes = body::inflate(bytes, encoding, limit)?;
    if json {
        let bytes = match encoding {
            Encoding::Snappy => body::unsnappy(&bytes, limit)?.into(),
            _ => bytes,
        };
        from_json(&bytes)
    } else {
        // Loki's protobuf is snappy-compressed whatever `Content-Encoding` says.
        from_protobuf(&body::unsnappy(&bytes, limit)?)
    }
}

/// What one push decoded to.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) entries: Vec<LogEntry>,
    pub(crate) rejected: usize,
    errors: Vec<String>,
}

impl Batch {
    fn reject(&mut self, count: usize, error: String) {
        self.rejected += count;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(error);
        }
    }

    /// One line: how many entries were rejected and why, and how many were kept.
    fn summary(&self) -> String {
        let plural = |n: usize| if n == 1 { "entry" } else { "entries" };
        format!(
            "{} {} rejected ({}); {} {} accepted",
            self.rejected,
            plural(self.rejected),
            self.errors.join("; "),
            self.entries.len(),
            plural(self.entries.len()),
        )
    }
}

/// Decodes a (decompressed) protobuf `PushRequest`.
pub(crate) fn from_protobuf(bytes: &[u8]) -> Result<Batch, BodyError> {
    let push = proto::PushRequest::decode(bytes)
        .map_err(|e| BodyError::Bad(format!("body is not a Loki PushRequest in protobuf ({e})")))?;
    let mut batch = Batch::default();
    for (s, stream) in push.streams.into_iter().enumerate() {
        let origin = match labels::parse(&stream.labels) {
            Ok(pairs) => Origin::of(pairs),
            Err(e) => {
                batch.reject(
                    stream.entries.len(),
                    format!("streams[{s}]: labels '{}': {e}", stream.labels),
                );
                continue;
            }
        };
        for (i, entry) in stream.entries.into_iter().enumerate() {
            let time = match entry.timestamp {
                // An entry without a time is taken as arriving now rather than in 1970.
                None => Utc::now(),
                Some(ts) => match u32::try_from(ts.nanos)
                    .ok()
                    .and_then(|nanos| DateTime::from_timestamp(ts.seconds, nanos))
                {
                    Some(time) => time,
                    None => {
                        batch.reject(
                            1,
                            format!("streams[{s}].entries[{i}]: timestamp out of range"),
                        );
                        continue;
                    }
                },
            };
            let line = String::from_utf8_lossy(&entry.line);
            let metadata = entry
                .structured_metadata
                .into_iter()
                .map(|pair| (pair.name, Value::String(pair.value)));
            batch.entries.push(origin.entry(time, &line, metadata));
        }
    }
    Ok(batch)
}

#[derive(Deserialize)]
struct JsonPush<'a> {
    #[serde(borrow)]
    streams: Vec<JsonStream<'a>>,
}

#[derive(Deserialize)]
struct JsonStream<'a> {
    #[serde(default)]
    stream: Map<String, Value>,
    /// Raw, so one malformed value is rejected alone.
    #[serde(default, borrow)]
    values: Vec<&'a RawValue>,
}

/// Decodes a JSON push: `{"streams":[{"stream":{labels},"values":[["<ns>","<line>",{metadata}]]}]}`.
pub(crate) fn from_json(bytes: &[u8]) -> Result<Batch, BodyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BodyError::Bad("body is not valid UTF-8 JSON".to_owned()))?;
    let push: JsonPush<'_> = serde_json::from_str(text).map_err(|e| {
        BodyError::Bad(format!(
            "body is not a Loki push in JSON ({e}); send {{\"streams\":[{{\"stream\":{{...}},\"values\":[[\"<ns>\",\"<line>\"]]}}]}}"
        ))
    })?;
    let mut batch = Batch::default();
    for (s, stream) in push.streams.into_iter().enumerate() {
        let pairs = stream.stream.into_iter().map(|(name, value)| {
            let value = match value {
                Value::String(text) => text,
                other => other.to_string(),
            };
            (name, value)
        });
        let origin = Origin::of(pairs.collect());
        for (i, raw) in stream.values.into_iter().enumerate() {
            match json_value(raw.get()) {
                Ok(JsonEntry {
                    time,
                    line,
                    metadata,
                }) => {
                    batch.entries.push(origin.entry(time, &line, metadata));
                }
                Err(e) => batch.reject(1, format!("streams[{s}].values[{i}]: {e}")),
            }
        }
    }
    Ok(batch)
}

/// One value of a JSON push.
#[derive(Debug)]
struct JsonEntry {
    time: DateTime<Utc>,
    line: String,
    metadata: Map<String, Value>,
}

/// One `["<ns>", "<line>", {metadata}?]` value.
fn json_value(raw: &str) -> Result<JsonEntry, String> {
    let shape = || "expected [\"<nanoseconds>\", \"<line>\"] or with a third {metadata} object";
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(raw) else {
        return Err(shape().to_owned());
    };
    let mut items = items.into_iter();
    let (Some(ts), Some(Value::String(line)), metadata, None) =
        (items.next(), items.next(), items.next(), items.next())
    else {
        return Err(shape().to_owned());
    };
    let nanos = match &ts {
        Value::String(text) => text.trim().parse::<i64>().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
    .ok_or_else(|| format!("timestamp {ts} is not nanoseconds since the epoch"))?;
    let metadata = match metadata {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(format!("structured metadata {other} is not an object")),
    };
    Ok(JsonEntry {
        time: Utc.timestamp_nanos(nanos),
        line,
        metadata,
    })
}

/// What a stream's labels say about each of its entries.
#[derive(Debug, Default)]
struct Origin {
    source: Option<String>,
    level: Option<Level>,
    instance: Option<String>,
    region: Option<String>,
    /// The other labels.
    meta: Vec<(String, Value)>,
}

impl Origin {
    fn of(mut pairs: Vec<(String, String)>) -> Origin {
        let mut take = |names: &[&str]| {
            let at = names
                .iter()
                .find_map(|name| pairs.iter().position(|(n, _)| n == name))?;
            Some(pairs.remove(at))
        };
        let source = take(SOURCE_LABELS).map(|(_, v)| v);
        let instance = take(INSTANCE_LABELS).map(|(_, v)| v);
        let region = take(REGION_LABELS).map(|(_, v)| v);
        let level_label = take(LEVEL_LABELS);
        let level = match level_label {
            Some((_, ref value)) => Level::parse(value).ok(),
            None => None,
        };
        // A level label vg cannot read stays visible in meta rather than vanishing.
        if let (None, Some(label)) = (level, level_label) {
            pairs.push(label);
        }
        Origin {
            source,
            level,
            instance,
            region,
            meta: pairs
                .into_iter()
                .map(|(name, value)| (name, Value::String(value)))
                .collect(),
        }
    }

    fn entry(
        &self,
        time: DateTime<Utc>,
        line: &str,
        metadata: impl IntoIterator<Item = (String, Value)>,
    ) -> LogEntry {
        let default_source = self.source.as_deref().unwrap_or(DEFAULT_SOURCE);
        let (mut entry, _) = decode_line(line, default_source);
        entry.timestamp = time;
        if let Some(source) = &self.source {
            entry.source.clone_from(source);
        }
        if let Some(level) = self.level {
            entry.level = level;
        }
        if self.instance.is_some() {
            entry.instance.clone_from(&self.instance);
        }
        if self.region.is_some() {
            entry.region.clone_from(&self.region);
        }
        entry.meta.extend(self.meta.iter().cloned());
        entry.meta.extend(metadata);
        entry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(labels: &str) -> Origin {
        Origin::of(labels::parse(labels).unwrap())
    }

    #[test]
    fn labels_become_fields_and_the_rest_meta() {
        let o = origin(
            r#"{job="varlogs", app="shop", pod="shop-7f9", region="ord", level="WARNING", namespace="prod"}"#,
        );
        assert_eq!(o.source.as_deref(), Some("shop"), "app before job");
        assert_eq!(o.instance.as_deref(), Some("shop-7f9"));
        assert_eq!(o.region.as_deref(), Some("ord"));
        assert_eq!(o.level, Some(Level::Warn));
        let names: Vec<&str> = o.meta.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["job", "namespace"]);
    }

    #[test]
    fn an_unreadable_level_label_is_kept_in_meta() {
        let o = origin(r#"{level="chatty"}"#);
        assert_eq!(o.level, None);
        assert_eq!(o.meta, [("level".to_owned(), Value::from("chatty"))]);
    }

    #[test]
    fn json_lines_are_decoded_and_labels_win() {
        let o = origin(r#"{app="shop", level="error"}"#);
        let time = Utc.timestamp_nanos(1_770_315_218_000_000_000);
        let e = o.entry(
            time,
            r#"{"level":"info","msg":"paid","name":"billing","orderId":7,"time":1}"#,
            [("traceId".to_owned(), Value::from("abc"))],
        );
        assert_eq!(
            (e.source.as_str(), e.level, e.message.as_str()),
            ("shop", Level::Error, "paid")
        );
        assert_eq!(e.timestamp, time, "the push's time, not the line's");
        assert_eq!(e.meta["orderId"], 7);
        assert_eq!(e.meta["traceId"], "abc");

        // Without a level label, a plain line's own level word counts.
        let e = origin(r#"{app="shop"}"#).entry(time, "ERROR card declined", []);
        assert_eq!(
            (e.level, e.message.as_str()),
            (Level::Error, "ERROR card declined")
        );
    }

    #[test]
    fn protobuf_metadata_goes_to_meta_and_undecodable_lines_survive() {
        let entry = |nanos, line: &[u8]| proto::EntryAdapter {
            timestamp: Some(prost_types::Timestamp {
                seconds: 1_770_315_218,
                nanos,
            }),
            line: line.to_vec(),
            structured_metadata: vec![proto::LabelPairAdapter {
                name: "traceId".to_owned(),
                value: "4bf92f35".to_owned(),
            }],
        };
        let push = proto::PushRequest {
            streams: vec![proto::StreamAdapter {
                labels: r#"{app="api"}"#.to_owned(),
                entries: vec![entry(0, b"bad \xff byte"), entry(-1, b"never")],
            }],
        };
        let batch = from_protobuf(&push.encode_to_vec()).unwrap();
        assert_eq!(batch.entries.len(), 1);
        let e = &batch.entries[0];
        assert_eq!(e.message, "bad \u{fffd} byte");
        assert_eq!(e.meta["traceId"], "4bf92f35");
        assert_eq!(
            batch.summary(),
            "1 entry rejected (streams[0].entries[1]: timestamp out of range); 1 entry accepted"
        );
    }

    #[test]
    fn json_values_explain_their_shape() {
        assert!(json_value(r#"["1770315218000000000","x",{"k":"v"}]"#).is_ok());
        assert_eq!(
            json_value(r#"["soon","x"]"#).unwrap_err(),
            r#"timestamp "soon" is not nanoseconds since the epoch"#
        );
        assert!(
            json_value(r#"["1","x","y"]"#)
                .unwrap_err()
                .contains("not an object")
        );
        assert!(json_value(r#"["1"]"#).unwrap_err().starts_with("expected"));
        assert!(
            json_value(r#"["1","x",{},4]"#)
                .unwrap_err()
                .starts_with("expected")
        );
    }
}
