//! `GET /api/alerts` (each rule's state, notifier health) and `POST /api/alerts/reload` (the rules
//! file read again; a bad file keeps the rules running and says why). Both need the token.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::Authorized;
use super::state::Shared;

pub(crate) const PATH: &str = "/api/alerts";
pub(crate) const RELOAD_PATH: &str = "/api/alerts/reload";

fn not_configured() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"error": "no alert rules on this server; start it with --alerts FILE (or VG_ALERTS)"})),
    )
        .into_response()
}

pub(crate) async fn status(_: Authorized, State(shared): State<Arc<Shared>>) -> Response {
    let Some(alerts) = shared.alerts.get() else {
        return not_configured();
    };
    axum::Json(alerts.status()).into_response()
}

pub(crate) async fn reload(_: Authorized, State(shared): State<Arc<Shared>>) -> Response {
    let Some(alerts) = shared.alerts.get().cloned() else {
        return not_configured();
    };
    // Reading a file and compiling regexes is blocking work.
    let result = tokio::task::spawn_blocking(move || alerts.reload_file()).await;
    match result {
        Ok(Ok(rules)) => axum::Json(json!({"status": "reloaded", "rules": rules})).into_response(),
        Ok(Err(error)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({
                "error": "the rules file has problems; the previous rules keep running",
                "problems": error.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })),
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
