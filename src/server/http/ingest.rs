//! `POST /api/logs`: entries from apps in any language.
//!
//! The body is NDJSON (one JSON object per line) or one JSON array of objects; with
//! `Content-Type: text/plain` it is plain lines, each becoming an entry as `vg serve --stdin` would
//! make it. Objects are read leniently (vg's own format or pino, bunyan, zap, logrus, tracing JSON,
//! Fly, Docker...), so most apps can post what they already log. Each item stands alone: good ones
//! are emitted, bad ones are listed in the reply with their position and the reason.
//!
//! What a body may cost to parse is bounded three ways: its size (`max_ingest_bytes`), how many are
//! parsed at once (`max_concurrent_ingest`, see [`body::slot`]), and what one entry may expand into:
//! each is checked against `entry_limits` (depth, values) before it is parsed, and entries are
//! parsed one at a time, a JSON array's items included, so a body never exists as a whole tree.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::auth::IngestAuthorized;
use super::body;
use super::counters::Ingest;
use super::state::Shared;
use crate::model::decode::{LineDecoder, ShapeLimits, check_shape, decode_json};
use crate::model::{DEFAULT_SOURCE, LogEntry};

/// Source given to entries that name none.
/// The reply lists at most this many rejected items; `rejected` still counts them all.
const MAX_REPORTED: usize = 100;

/// The reply to an ingest request.
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
pub(crate) struct Report {
    /// Entries emitted.
    pub(crate) accepted: usize,
    /// Items that could not be read.
    pub(crate) rejected: usize,
    /// The first rejected items and why.
    pub(crate) errors: Vec<Rejection>,
    /// What to do about them, when the request suggests it (plain text sent without saying so).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<&'static str>,
}

/// One item that could not be read.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub(crate) struct Rejection {
    /// 1-based line of an NDJSON body, or 1-based position in a JSON array.
    pub(crate) line: usize,
    /// What was wrong with it.
    pub(crate) error: String,
}

impl Report {
    fn reject(&mut self, line: usize, error: impl ToString) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED {
            self.errors.push(Rejection {
                line,
                error: error.to_string(),
            });
        }
    }
}

pub(crate) async fn handle(
    _: IngestAuthorized,
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let limit = shared.config.max_ingest_bytes;
    let _slot = match body::slot(&shared).await {
        Ok(permit) => permit,
        Err(busy) => {
            shared.metrics.refused(Ingest::Http);
            let mut response = (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(serde_json::json!({ "error": busy.to_string() })),
            )
                .into_response();
            body::retry_soon(&mut response);
            return response;
        }
    };
    let too_large = || {
        let error = format!("request body larger than {limit} bytes; send smaller batches");
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            axum::Json(serde_json::json!({ "error": error })),
        )
            .into_response()
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > limit) {
        shared.metrics.refused(Ingest::Http);
        return too_large();
    }
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        shared.metrics.refused(Ingest::Http);
        return too_large();
    };
    let plain = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("text/plain"));
    let mut report = ingest(&bytes, plain, shared.config.entry_limits, |entry| {
        shared.metrics.ingested(Ingest::Http, 1);
        shared.emitter.record(entry);
    });
    shared.metrics.rejected(Ingest::Http, report.rejected);
    // `curl -d`/`--data-binary` label a body as a form; someone sending log lines that way most
    // likely has plain text.
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if report.rejected > 0 && form {
        report.hint = Some(
            "for plain text lines, send Content-Type: text/plain (curl -H 'Content-Type: text/plain')",
        );
    }
    // Partly good is still useful work done; only a batch where nothing could be read is a 400.
    let status = if report.accepted == 0 && report.rejected > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    (status, axum::Json(report)).into_response()
}

/// Reads a body and hands every good entry to `emit`; entries over `limits` are rejected unparsed.
pub(crate) fn ingest(
    body: &[u8],
    plain: bool,
    limits: ShapeLimits,
    mut emit: impl FnMut(LogEntry),
) -> Report {
    let mut report = Report::default();
    if plain {
        let mut decoder = LineDecoder::default();
        for (i, line) in body.split(|&b| b == b'\n').enumerate() {
            // A plain line is parsed as JSON when it looks like it, so it is bounded the same way.
            if let Err(e) = check_shape(line, limits) {
                report.reject(i + 1, e);
                continue;
            }
            if let Some(entry) = decoder.decode(line, DEFAULT_SOURCE) {
                emit(entry);
                report.accepted += 1;
            }
        }
        return report;
    }
    let mut one = |report: &mut Report, position: usize, text: &str| {
        if let Err(e) = check_shape(text.as_bytes(), limits) {
            return report.reject(position, e);
        }
        match decode_json(text, DEFAULT_SOURCE) {
            Ok((entry, _)) => {
                emit(entry);
                report.accepted += 1;
            }
            Err(e) => report.reject(position, e),
        }
    };
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'[') {
        let mut deserializer = serde_json::Deserializer::from_slice(body);
        let items = Items {
            each: |position: usize, item: &RawValue| one(&mut report, position, item.get()),
        };
        let read = deserializer
            .deserialize_seq(items)
            .and_then(|()| deserializer.end());
        if let Err(e) = read {
            // Items before the damage were taken (each stands alone); the rest cannot be found.
            let at = report.accepted + report.rejected + 1;
            report.reject(at, format!("not a valid JSON array ({e})"));
        }
        return report;
    }
    for (i, line) in body.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let Ok(text) = std::str::from_utf8(line) else {
            report.reject(i + 1, "not valid UTF-8");
            continue;
        };
        one(&mut report, i + 1, text.trim());
    }
    report
}

/// Walks a JSON array's items one at a time, so no vector of them is ever built.
struct Items<F> {
    each: F,
}

impl<'de, F: FnMut(usize, &'de RawValue)> Visitor<'de> for Items<F> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array of log entries")
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut position = 0;
        while let Some(item) = seq.next_element::<&'de RawValue>()? {
            position += 1;
            (self.each)(position, item);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Level;

    fn run(body: &[u8], plain: bool) -> (Vec<LogEntry>, Report) {
        let mut got = Vec::new();
        let report = ingest(body, plain, ShapeLimits::default(), |e| got.push(e));
        (got, report)
    }

    #[test]
    fn ndjson_with_good_foreign_and_bad_lines() {
        let body = b"{\"timestamp\":\"2026-02-05T18:13:38.000Z\",\"level\":\"info\",\"source\":\"api\",\"message\":\"ok\"}\n\
            \n\
            {\"level\":50,\"msg\":\"pino says\",\"time\":1770315218000}\n\
            not json\n\
            [1]\n\
            \xff\xfe\n";
        let (got, report) = run(body, false);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].level, Level::Error);
        assert_eq!(got[1].source, "app");
        assert_eq!((report.accepted, report.rejected), (2, 3));
        let lines: Vec<usize> = report.errors.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 5, 6]);
        assert!(report.errors[0].error.starts_with("not valid JSON"));
        assert_eq!(
            report.errors[1].error,
            "expected a JSON object, found an array"
        );
        assert_eq!(report.errors[2].error, "not valid UTF-8");
    }

    #[test]
    fn json_array_items_stand_alone() {
        let (got, report) = run(
            br#" [{"msg":"a"}, 5, {"message":"b","level":"warn"}]"#,
            false,
        );
        assert_eq!(got.len(), 2);
        assert_eq!(report.errors[0].line, 2);
        assert!(
            run(b"[{\"msg\":", false).1.errors[0]
                .error
                .starts_with("not a valid JSON array")
        );
    }

    #[test]
    fn plain_text_lines_are_all_accepted() {
        let (got, report) = run(
            b"started\n{\"msg\":\"json too\",\"level\":\"warn\"}\n\n",
            true,
        );
        assert_eq!((report.accepted, report.rejected), (2, 0));
        assert_eq!(got[0].message, "started");
        assert_eq!(got[1].level, Level::Warn);
    }

    #[test]
    fn reported_errors_are_capped_but_counted() {
        let body = "x\n".repeat(MAX_REPORTED + 20);
        let (_, report) = run(body.as_bytes(), false);
        assert_eq!(
            (report.rejected, report.errors.len()),
            (MAX_REPORTED + 20, MAX_REPORTED)
        );
    }
}
