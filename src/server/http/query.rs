//! `GET /api/logs`: the stream's filters applied to history, streamed as the client reads it.
//!
//! Query parameters are the stream's filter parameters plus `limit` (how many entries at most) and
//! `after` (only seqs greater than this: page forward). Without `after` the answer is the newest
//! `limit` matching entries; with it, the oldest `limit` matching entries after that seq. Either way
//! entries come oldest first. `Accept: application/x-ndjson` (or `application/jsonl`) gives NDJSON,
//! anything else a JSON array. `X-Vg-Boot` and `X-Vg-Newest-Seq` tell a poller where it stands.
//! At most `max_concurrent_queries` answers are sent at once; more get 503 with `Retry-After`.

mod pages;

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use super::auth::Authorized;
use super::state::Shared;
use crate::server::store::{window_end, window_start};
use crate::wire::StreamQuery;
use pages::{Framing, PIECE_BYTES, Pages};

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
    let Ok(permit) = Arc::clone(&shared.queries).try_acquire_owned() else {
        let mut response = (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{} history queries are being answered already; retry in a moment\n",
                shared.config.max_concurrent_queries
            ),
        )
            .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return response;
    };
    let history = Arc::clone(&shared.history);
    let limit = query.tail.unwrap_or(shared.config.default_query_limit);
    let newest = history.bounds().newest.unwrap_or(0);
    let start = window_start(&*history, &filter, 1);
    let end = window_end(&*history, &filter, newest);
    let from = match query.after {
        // The oldest `limit` matching after that seq; seqs no longer held are skipped: a poller
        // learns of them from `X-Vg-Newest-Seq` and the seqs it gets.
        Some(after) => after.saturating_add(1).max(start),
        None => history
            .tail_start(&filter, start, end, limit, PIECE_BYTES)
            .unwrap_or(start),
    };
    let ndjson = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("ndjson") || v.contains("jsonl"));
    let (content_type, framing) = if ndjson {
        ("application/x-ndjson", Framing::Lines)
    } else {
        ("application/json", Framing::Array)
    };
    let identity = HeaderValue::from_str(history.identity());
    let pages = Pages::new(history, filter, framing, (from, end), limit, permit);
    let body = Body::from_stream(futures_util::stream::iter(pages.map(Ok::<_, Infallible>)));
    let mut response = (StatusCode::OK, body).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(boot) = identity {
        out.insert("x-vg-boot", boot);
    }
    out.insert("x-vg-newest-seq", HeaderValue::from(newest));
    response
}
