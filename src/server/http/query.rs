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

use super::auth::Authorized;
use super::state::Shared;
use crate::filter::Filter;
use crate::model::LogEntry;
use crate::server::store::{Chunk, History, Scan, past_window, window_end, window_start};
use crate::wire::StreamQuery;

pub(crate) async fn handle(
    _: Authorized,
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    // The stream's own parser: one set of parameters and error texts for both endpoints.
    let (query, filter) =
        match StreamQuery::parse_compiled(raw.as_deref().unwrap_or(""), Utc::now()) {
            Ok(ok) => ok,
            Err(error) => {
                let body = axum::Json(serde_json::json!({ "error": error }));
                return (StatusCode::BAD_REQUEST, body).into_response();
            }
        };
    let history = &*shared.history;
    let limit = query.tail.unwrap_or(shared.config.default_query_limit);
    let newest = history.bounds().newest.unwrap_or(0);
    let start = window_start(history, &filter, 1);
    let end = window_end(history, &filter, newest);
    let entries = match query.after {
        Some(after) => oldest_after(
            history,
            &filter,
            after.saturating_add(1).max(start),
            end,
            limit,
        ),
        None => history.last_matching(&filter, start, end, limit),
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
    if let Ok(boot) = HeaderValue::from_str(history.identity()) {
        out.insert("x-vg-boot", boot);
    }
    out.insert("x-vg-newest-seq", HeaderValue::from(newest));
    response
}

/// The oldest `limit` entries from `from` to `to` that pass `filter`, stopping at the first entry
/// past the window's `until`. Seqs no longer held are skipped: a poller learns of them from
/// `X-Vg-Newest-Seq` and the seqs it gets.
fn oldest_after(
    history: &dyn History,
    filter: &Filter,
    from: u64,
    to: u64,
    limit: usize,
) -> Vec<Arc<LogEntry>> {
    let mut picked = Vec::new();
    for chunk in Scan::new(history, from, to) {
        if let Chunk::Entries(entries) = chunk {
            for entry in entries {
                if past_window(filter, &entry) {
                    return picked;
                }
                if filter.matches(&entry) {
                    picked.push(entry);
                    if picked.len() == limit {
                        return picked;
                    }
                }
            }
        }
    }
    picked
}
