//! `POST /v1/logs`: OpenTelemetry's OTLP/HTTP logs, so any OpenTelemetry SDK or collector can ship
//! to vg by pointing its exporter at the server.
//!
//! Bodies are `application/x-protobuf` or `application/json` (OTLP/JSON: hex ids, int64 as strings),
//! optionally gzip- or deflate-compressed, decoded with the OpenTelemetry project's own generated
//! messages (`opentelemetry-proto`), never by hand. The answer is an `ExportLogsServiceResponse` in the
//! request's format.
//!
//! A protobuf body decodes whole or not at all (a broken one is a 400). OTLP/JSON is read record by
//! record, so one malformed record (a bad `traceId`, a `timeUnixNano` that is not a number) is
//! rejected alone and counted in `partial_success`, as the OTLP spec asks, while the rest are kept.
//! Only a request of which nothing could be read is a 400. Everything is decoded before the first
//! entry is recorded, so a request refused as a whole records nothing and a retry duplicates nothing.
//!
//! Mapping (also in docs/ingest.md): resource `service.name` -> source, `service.instance.id` ->
//! instance, `cloud.region` -> region, severity number (or text) -> level, a string body -> message,
//! a map body's fields -> meta (its `message`/`msg` -> message), attributes -> meta, `trace_id` and
//! `span_id` -> `meta.traceId`/`meta.spanId` as hex.

mod count;
mod shape;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeZone, Utc};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message as _;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::auth::IngestAuthorized;
use super::body::{self, BodyError, Encoding};
use super::counters::Ingest;
use super::state::Shared;
use crate::model::decode::{ShapeLimits, check_shape};
use crate::model::{DEFAULT_SOURCE, Level, LogEntry, Meta};

/// The path OTLP/HTTP exporters post logs to.
pub(crate) const PATH: &str = "/v1/logs";

/// The partial-success message names at most this many rejected records.
const MAX_REPORTED: usize = 3;

/// Resource attributes that become an entry's own fields rather than meta.
const SERVICE_NAME: &str = "service.name";
const SERVICE_INSTANCE: &str = "service.instance.id";
const CLOUD_REGION: &str = "cloud.region";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

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
            shared.metrics.refused(Ingest::Otlp);
            return busy.into_response();
        }
    };
    match receive(&shared, &headers, body).await {
        Ok(response) => response,
        Err(refused) => {
            shared.metrics.refused(Ingest::Otlp);
            refused.into_response()
        }
    }
}

async fn receive(shared: &Shared, headers: &HeaderMap, body: Body) -> Result<Response, BodyError> {
    let format = match body::content_type(headers).as_str() {
        // The spec's name, and the one IANA registered since.
        "application/x-protobuf" | "application/protobuf" => Format::Protobuf,
        "application/json" => Format::Json,
        other => {
            return Err(BodyError::UnsupportedType {
                got: other.to_owned(),
                want: "application/x-protobuf or application/json (OTLP/HTTP)",
            });
        }
    };
    let encoding = body::encoding(headers)?;
    if encoding == Encoding::Snappy {
        return Err(BodyError::UnsupportedEncoding("snappy".to_owned()));
    }
    let limit = shared.config.max_ingest_bytes;
    let bytes = body::read(headers, body, limit).await?;
    let bytes = body::inflate(bytes, encoding, limit)?;
    let mut batch = match format {
        Format::Protobuf => from_protobuf(&bytes, shared.config.entry_limits)?,
        Format::Json => from_json(&bytes, shared.config.entry_limits)?,
    };
    if batch.entries.is_empty() && batch.rejected > 0 {
        return Err(BodyError::Bad(batch.summary()));
    }
    shared.metrics.rejected(Ingest::Otlp, batch.rejected);
    shared.metrics.ingested(Ingest::Otlp, batch.entries.len());
    for entry in std::mem::take(&mut batch.entries) {
        shared.emitter.record(entry);
    }
    Ok(reply(format, &batch))
}

/// What one request decoded to.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) entries: Vec<LogEntry>,
    pub(crate) rejected: usize,
    /// Why the first few records were rejected.
    pub(crate) errors: Vec<String>,
}

impl Batch {
    fn reject(&mut self, error: String) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(error);
        }
    }

    /// One line saying how many records were rejected and why the first were.
    fn summary(&self) -> String {
        let records = if self.rejected == 1 {
            "record"
        } else {
            "records"
        };
        format!(
            "{} log {records} rejected: {}",
            self.rejected,
            self.errors.join("; ")
        )
    }
}

fn reply(format: Format, batch: &Batch) -> Response {
    let partial_success = (batch.rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(batch.rejected).unwrap_or(i64::MAX),
        error_message: batch.summary(),
    });
    let response = ExportLogsServiceResponse { partial_success };
    let (content_type, bytes) = match format {
        Format::Protobuf => ("application/x-protobuf", response.encode_to_vec()),
        Format::Json => (
            "application/json",
            serde_json::to_vec(&response).expect("a response always serializes"),
        ),
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response()
}

/// Decodes a protobuf `ExportLogsServiceRequest`: all of it, or an error; a record over `limits`
/// is rejected on its own.
pub(crate) fn from_protobuf(bytes: &[u8], limits: ShapeLimits) -> Result<Batch, BodyError> {
    if count::values(bytes, count::MAX_BODY_VALUES) > count::MAX_BODY_VALUES {
        return Err(BodyError::Bad(format!(
            "body holds more than {} attribute and body values, the server's limit for one OTLP request; export smaller batches",
            count::MAX_BODY_VALUES
        )));
    }
    let request = ExportLogsServiceRequest::decode(bytes).map_err(|e| {
        BodyError::Bad(format!(
            "body is not an OTLP ExportLogsServiceRequest in protobuf ({e})"
        ))
    })?;
    let mut batch = Batch::default();
    for (r, resource_logs) in request.resource_logs.into_iter().enumerate() {
        let resource = Origin::of(resource_logs.resource);
        for (s, scope_logs) in resource_logs.scope_logs.into_iter().enumerate() {
            let origin = resource.with_scope(scope_logs.scope);
            for (i, record) in scope_logs.log_records.into_iter().enumerate() {
                match shape::check_record(&record, limits) {
                    Ok(()) => batch.entries.push(origin.entry(record)),
                    Err(e) => batch.reject(format!(
                        "resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]: {e}"
                    )),
                }
            }
        }
    }
    Ok(batch)
}

/// OTLP/JSON's envelope, read down to the records, which stay raw so each is read (and possibly
/// rejected) on its own.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonRequest<'a> {
    #[serde(default, borrow)]
    resource_logs: Vec<JsonResourceLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonResourceLogs<'a> {
    #[serde(default)]
    resource: Option<Resource>,
    #[serde(default, borrow)]
    scope_logs: Vec<JsonScopeLogs<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsonScopeLogs<'a> {
    #[serde(default)]
    scope: Option<InstrumentationScope>,
    #[serde(default, borrow)]
    log_records: Vec<&'a RawValue>,
}

/// Decodes an OTLP/JSON `ExportLogsServiceRequest`, record by record; a record over `limits` is
/// rejected before it is parsed.
pub(crate) fn from_json(bytes: &[u8], limits: ShapeLimits) -> Result<Batch, BodyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| BodyError::Bad("body is not valid UTF-8 JSON".to_owned()))?;
    let request: JsonRequest<'_> = serde_json::from_str(text).map_err(|e| {
        BodyError::Bad(format!(
            "body is not an OTLP ExportLogsServiceRequest in JSON ({e})"
        ))
    })?;
    let mut batch = Batch::default();
    for (r, resource_logs) in request.resource_logs.into_iter().enumerate() {
        let resource = Origin::of(resource_logs.resource);
        for (s, scope_logs) in resource_logs.scope_logs.into_iter().enumerate() {
            let origin = resource.with_scope(scope_logs.scope);
            for (i, raw) in scope_logs.log_records.into_iter().enumerate() {
                let record = check_shape(raw.get().as_bytes(), limits)
                    .map_err(|e| e.to_string())
                    .and_then(|()| {
                        serde_json::from_str::<LogRecord>(raw.get()).map_err(|e| e.to_string())
                    });
                match record {
                    Ok(record) => batch.entries.push(origin.entry(record)),
                    Err(e) => batch.reject(format!(
                        "resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]: {e}"
                    )),
                }
            }
        }
    }
    Ok(batch)
}

/// What a resource and a scope say about every record under them.
#[derive(Debug, Clone, Default)]
struct Origin {
    source: Option<String>,
    instance: Option<String>,
    region: Option<String>,
    /// The resource's other attributes, then the scope's name.
    meta: Vec<(String, Value)>,
}

impl Origin {
    fn of(resource: Option<Resource>) -> Origin {
        let mut origin = Origin::default();
        for KeyValue { key, value, .. } in resource.map(|r| r.attributes).unwrap_or_default() {
            let value = json(value);
            let text = || match &value {
                Value::String(s) if !s.is_empty() => Some(s.clone()),
                Value::Null | Value::String(_) => None,
                other => Some(other.to_string()),
            };
            match key.as_str() {
                SERVICE_NAME => origin.source = text(),
                SERVICE_INSTANCE => origin.instance = text(),
                CLOUD_REGION => origin.region = text(),
                // The SDK's name, language and version, the same on every record an app sends:
                // noise in every entry's detail, and nothing a viewer filters on.
                k if k.starts_with("telemetry.sdk.") => {}
                _ => origin.meta.push((key, value)),
            }
        }
        origin
    }

    fn with_scope(&self, scope: Option<InstrumentationScope>) -> Origin {
        let mut origin = self.clone();
        if let Some(scope) = scope.filter(|s| !s.name.is_empty()) {
            // OpenTelemetry's own name for the scope outside OTLP (the logger's name, often).
            origin
                .meta
                .push(("otel.scope.name".to_owned(), Value::String(scope.name)));
        }
        origin
    }

    /// The entry for one record under this origin.
    fn entry(&self, record: LogRecord) -> LogEntry {
        let timestamp = time(record.time_unix_nano)
            .or_else(|| time(record.observed_time_unix_nano))
            .unwrap_or_else(Utc::now);
        let mut meta = Meta::with_capacity(self.meta.len() + record.attributes.len() + 2);
        meta.extend(self.meta.iter().cloned());
        // The record's own attributes are more specific than its resource's.
        meta.extend(
            record
                .attributes
                .into_iter()
                .map(|KeyValue { key, value, .. }| (key, json(value))),
        );
        let level = level(record.severity_number, &record.severity_text);
        if level.is_none() && !record.severity_text.is_empty() {
            meta.insert("severity", record.severity_text);
        }
        let message = match record.body.and_then(|b| b.value) {
            Some(Any::StringValue(text)) => text,
            Some(Any::KvlistValue(list)) => {
                let mut message = None;
                for KeyValue { key, value, .. } in list.values {
                    match (json(value), message.is_none() && is_message_key(&key)) {
                        (Value::String(text), true) => message = Some(text),
                        (value, _) => {
                            meta.insert(key, value);
                        }
                    }
                }
                message.unwrap_or_else(|| record.event_name.clone())
            }
            Some(other) => match json_of(other) {
                Value::String(text) => text,
                other => other.to_string(),
            },
            None => record.event_name.clone(),
        };
        if let Some(id) = id_hex(&record.trace_id, 16) {
            meta.insert("traceId", id);
        }
        if let Some(id) = id_hex(&record.span_id, 8) {
            meta.insert("spanId", id);
        }
        if !record.event_name.is_empty() {
            meta.insert("event.name", record.event_name);
        }
        LogEntry {
            timestamp,
            level: level.unwrap_or_default(),
            source: self
                .source
                .clone()
                .unwrap_or_else(|| DEFAULT_SOURCE.to_owned()),
            message,
            meta,
            instance: self.instance.clone(),
            region: self.region.clone(),
            seq: None,
        }
    }
}

fn is_message_key(key: &str) -> bool {
    key.eq_ignore_ascii_case("message") || key.eq_ignore_ascii_case("msg")
}

/// A nanosecond epoch time; 0 means unknown, as OTLP says.
fn time(nanos: u64) -> Option<DateTime<Utc>> {
    let nanos = i64::try_from(nanos).ok().filter(|&n| n > 0)?;
    Some(Utc.timestamp_nanos(nanos))
}

/// OpenTelemetry's severity numbers come in fours per level (1-4 TRACE ... 21-24 FATAL); a record
/// without one may still name its level in text.
fn level(number: i32, text: &str) -> Option<Level> {
    let level = match number {
        1..=4 => Level::Trace,
        5..=8 => Level::Debug,
        9..=12 => Level::Info,
        13..=16 => Level::Warn,
        17..=20 => Level::Error,
        21..=24 => Level::Fatal,
        _ => return Level::parse(text).ok().filter(|_| !text.is_empty()),
    };
    Some(level)
}

/// A trace or span id as lowercase hex; `None` for one the spec calls invalid (wrong length, zero).
fn id_hex(id: &[u8], len: usize) -> Option<String> {
    (id.len() == len && id.iter().any(|&b| b != 0)).then(|| hex(id))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn json(value: Option<AnyValue>) -> Value {
    value.and_then(|v| v.value).map_or(Value::Null, json_of)
}

/// An attribute value as JSON: scalars as themselves, arrays and maps nested, bytes as hex.
fn json_of(value: Any) -> Value {
    match value {
        Any::StringValue(s) => Value::String(s),
        Any::BoolValue(b) => Value::Bool(b),
        Any::IntValue(i) => Value::from(i),
        // JSON has no NaN or infinity; their names keep what was sent.
        Any::DoubleValue(d) => serde_json::Number::from_f64(d)
            .map_or_else(|| Value::String(d.to_string()), Value::Number),
        Any::ArrayValue(array) => {
            Value::Array(array.values.into_iter().map(|v| json(Some(v))).collect())
        }
        Any::KvlistValue(list) => Value::Object(
            list.values
                .into_iter()
                .map(|KeyValue { key, value, .. }| (key, json(value)))
                .collect(),
        ),
        Any::BytesValue(bytes) => Value::String(hex(&bytes)),
        // A profiling-only reference into a string table logs do not have: absent, as the spec asks.
        Any::StringValueStrindex(_) => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_numbers_map_in_fours_and_text_fills_in() {
        assert_eq!(level(1, ""), Some(Level::Trace));
        assert_eq!(level(9, "whatever"), Some(Level::Info));
        assert_eq!(level(13, ""), Some(Level::Warn));
        assert_eq!(level(17, ""), Some(Level::Error));
        assert_eq!(level(24, ""), Some(Level::Fatal));
        assert_eq!(level(0, "WARNING"), Some(Level::Warn));
        assert_eq!(level(0, ""), None);
        assert_eq!(level(99, "loud"), None);
    }

    #[test]
    fn ids_are_hex_only_when_valid() {
        assert_eq!(id_hex(&[0xab; 8], 8).as_deref(), Some("abababababababab"));
        assert_eq!(id_hex(&[0; 8], 8), None, "all zero is invalid");
        assert_eq!(id_hex(&[1; 7], 8), None, "wrong length is invalid");
    }

    #[test]
    fn times_of_zero_are_unknown() {
        assert_eq!(time(0), None);
        assert_eq!(time(u64::MAX), None);
        assert_eq!(
            time(1_770_315_218_000_000_000).map(|t| crate::model::format_timestamp(&t)),
            Some("2026-02-05T18:13:38.000Z".to_owned())
        );
    }
}
