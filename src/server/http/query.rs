//! `GET /api/logs`: the stream's filters applied to history, answered in one response.
//!
//! Query parameters are the stream's filter parameters plus `limit` (how many entries at most) and
//! `after` (only seqs greater than this: page forward). Without `after` the answer is the newest
//! `limit` matching entries; with it, the oldest `limit` matching entries after that seq. Either way
//! entries come oldest first. `Accept: application/x-ndjson` (or `application/jsonl`) gives NDJSON,
//! anything else a JSON array. `X-Vg-Boot` and `X-Vg-Newest-Seq` tell a poller where it stands.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::gateway::{Shared, refusal};
use crate::filter::{Filter, FilterSpec};
use crate::model::LogEntry;

const CHUNK: usize = 1024;

/// The parameters of one request.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    filter: FilterSpec,
    limit: Option<usize>,
    after: Option<u64>,
}

fn parse(query: &str) -> Result<Params, String> {
    let mut params = Params::default();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match key.as_ref() {
            // `tail` is what the stream calls it; accept it here too.
            "limit" | "tail" => {
                params.limit = Some(value.parse().map_err(|_| {
                    format!("invalid query parameter {key}='{value}': a whole number")
                })?);
            }
            "after" => {
                params.after = Some(value.parse().map_err(|_| {
                    format!("invalid query parameter after='{value}': a seq number")
                })?);
            }
            other => {
                params.filter.set_param(other, &value);
            }
        }
    }
    Ok(params)
}

/// A parsed request with its filter compiled against the present time; either failing is one line
/// of text for the client.
pub(crate) fn with_filter<T>(
    parsed: Result<T, String>,
    spec: impl Fn(&T) -> &FilterSpec,
) -> Result<(T, Filter), String> {
    let parsed = parsed?;
    let filter = spec(&parsed)
        .compile(Utc::now())
        .map_err(|e| e.to_string())?;
    Ok((parsed, filter))
}

pub(crate) async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Some(refusal) = refusal(&shared, &headers) {
        return refusal;
    }
    let (params, filter) = match with_filter(parse(raw.as_deref().unwrap_or("")), |p| &p.filter) {
        Ok(ok) => ok,
        Err(error) => {
            let body = axum::Json(serde_json::json!({ "error": error }));
            return (StatusCode::BAD_REQUEST, body).into_response();
        }
    };
    let limit = params.limit.unwrap_or(shared.config.default_query_limit);
    let newest = shared.emitter.stats().newest_seq.unwrap_or(0);
    let entries = match params.after {
        Some(after) => oldest_after(&shared, &filter, after, newest, limit),
        None => newest_matching(&shared, &filter, newest, limit),
    };
    let ndjson = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("ndjson") || v.contains("jsonl"));
    let (content_type, body) = if ndjson {
        let mut body = String::new();
        for entry in &entries {
            body.push_str(&entry.to_json());
            body.push('\n');
        }
        ("application/x-ndjson", body)
    } else {
        let items: Vec<&LogEntry> = entries.iter().map(|e| &**e).collect();
        let body = serde_json::to_string(&items).unwrap_or_else(|_| "[]".to_owned());
        ("application/json", body)
    };
    let mut response = (StatusCode::OK, body).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(boot) = HeaderValue::from_str(shared.emitter.boot()) {
        out.insert("x-vg-boot", boot);
    }
    out.insert("x-vg-newest-seq", HeaderValue::from(newest));
    response
}

fn newest_matching(
    shared: &Shared,
    filter: &Filter,
    newest: u64,
    limit: usize,
) -> Vec<Arc<LogEntry>> {
    let mut picked = Vec::new();
    let mut before = newest.saturating_add(1);
    while picked.len() < limit {
        let chunk = shared.emitter.backward(before, CHUNK);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            break;
        };
        before = last;
        picked.extend(
            chunk
                .into_iter()
                .filter(|e| filter.matches(e))
                .take(limit - picked.len()),
        );
    }
    picked.reverse();
    picked
}

fn oldest_after(
    shared: &Shared,
    filter: &Filter,
    after: u64,
    newest: u64,
    limit: usize,
) -> Vec<Arc<LogEntry>> {
    let mut picked = Vec::new();
    let mut next = after.saturating_add(1);
    while picked.len() < limit && next <= newest {
        let chunk = shared.emitter.forward(next, newest, CHUNK);
        let Some(last) = chunk.last().and_then(|e| e.seq) else {
            break;
        };
        next = last + 1;
        picked.extend(
            chunk
                .into_iter()
                .filter(|e| filter.matches(e))
                .take(limit - picked.len()),
        );
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params() {
        let p = parse("level=warn&limit=5&after=9&source=api,db&unknown=1").unwrap();
        assert_eq!((p.limit, p.after), (Some(5), Some(9)));
        assert_eq!(p.filter.source, ["api", "db"]);
        assert_eq!(parse("tail=3").unwrap().limit, Some(3));
        assert_eq!(
            parse("limit=lots").unwrap_err(),
            "invalid query parameter limit='lots': a whole number"
        );
    }
}
