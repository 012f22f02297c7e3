//! A small axum app that streams its own logs through vg.
//!
//! ```sh
//! cargo run --example axum_app --features server            # listens on 127.0.0.1:3000
//! vg tui --url http://127.0.0.1:3000                        # or: vg logs --url http://127.0.0.1:3000
//! curl http://127.0.0.1:3000/users/42; curl http://127.0.0.1:3000/checkout
//! ```
//!
//! Every request is logged by the request layer, the handlers' `tracing` events stream through the
//! bridge (with the request's id attached), and a background job logs through the emitter directly.
//! Set `VG_TOKEN` to require a token from viewers, `PORT` to listen elsewhere.

use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;
use vg::Level;
use vg::server::{
    Emitter, EmitterConfig, Gateway, GatewayConfig, RequestLogLayer, TracingLayer, UserId,
};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let emitter = Emitter::new(EmitterConfig::default());

    // The app's tracing events go to vg and, as before, to the terminal.
    tracing_subscriber::registry()
        .with(
            TracingLayer::new(emitter.clone())
                .source("app")
                .with_filter(LevelFilter::DEBUG),
        )
        .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO))
        .init();

    let mut config = GatewayConfig::default();
    if let Ok(token) = std::env::var("VG_TOKEN") {
        config = config.token(token);
    }
    let gateway = Gateway::new(emitter.clone(), config);

    let app = Router::new()
        .route("/", get(|| async { "try /users/42, /checkout or /fail\n" }))
        .route("/users/{id}", get(user))
        .route("/checkout", post(checkout).get(checkout))
        .route("/fail", get(fail))
        // After the merge, so unmatched paths (404s) are logged too; the gateway's own
        // requests are left out of the log.
        .merge(gateway.router())
        .layer(RequestLogLayer::new(emitter.clone()).source("api"));

    tokio::spawn(background_job(emitter.clone()));

    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".to_owned());
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    let url = format!("http://{}", listener.local_addr()?);
    tracing::info!(%url, "listening; watch with `vg tui --url {url}`");
    vg::server::serve(listener, app, gateway, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

async fn user(Path(id): Path<u32>) -> Response {
    tracing::debug!(user = id, cache = "miss", "loading user");
    if id == 0 {
        tracing::warn!("user 0 does not exist");
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = format!("user {id}\n").into_response();
    // The request layer logs this as `userId`.
    response
        .extensions_mut()
        .insert(UserId(format!("user_{id}")));
    response
}

#[tracing::instrument(fields(cart = 7))]
async fn checkout() -> &'static str {
    tracing::info!(items = 3, total_cents = 4599, "charging card");
    tokio::time::sleep(Duration::from_millis(120)).await;
    tracing::info!("order placed");
    "ok\n"
}

async fn fail() -> StatusCode {
    tracing::error!(error = "connection refused", "database unavailable");
    StatusCode::SERVICE_UNAVAILABLE
}

/// Logs through the emitter directly, without tracing.
async fn background_job(emitter: Emitter) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    for run in 1u64.. {
        tick.tick().await;
        emitter.emit(
            vg::LogEntry::new(Level::Info, "worker", "cleanup finished")
                .with_meta("run", run)
                .with_meta("removed", run % 7),
        );
    }
}
