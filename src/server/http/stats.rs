//! `GET /api/logs/stats`: what durable history holds and how writing goes, the figures `/healthz`
//! gives under `disk`, on their own for dashboards and scripts. Behind the token and origin checks
//! like every log endpoint: the data dir's path and the write rate are the operator's business.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::Authorized;
use super::state::Shared;

pub(crate) async fn handle(_: Authorized, State(shared): State<Arc<Shared>>) -> Response {
    match shared.emitter.disk_stats() {
        Some(stats) => axum::Json(stats).into_response(),
        None => {
            let error = "this server keeps history in memory only: start it with a data dir (vg serve --data-dir DIR) for durable history and its stats";
            let body = axum::Json(serde_json::json!({ "error": error }));
            (StatusCode::NOT_FOUND, body).into_response()
        }
    }
}
