//! The tracing bridge: an app's `tracing` events stream, carrying the request id.
//!
//! A test binary of its own: tracing caches each callsite's interest process-wide, and a test on
//! another thread hitting the same callsite without a subscriber at the wrong moment could leave
//! this test's events unrecorded.

#![cfg(feature = "server")]

mod support;

use axum::Router;
use axum::routing::get;
use support::*;
use tracing_subscriber::prelude::*;
use vg::Level;
use vg::server::{Emitter, Gateway, GatewayConfig, RequestLogLayer, TracingLayer};

fn app(emitter: &Emitter, gateway: &Gateway) -> Router {
    Router::new()
        .route(
            "/api/users/{id}",
            get(|| async {
                tracing::info!(target: "app::users", cache = "miss", "loading user");
                "ok"
            }),
        )
        .merge(gateway.router())
        .layer(RequestLogLayer::new(emitter.clone()).source("api"))
}

#[tokio::test]
async fn tracing_events_stream_with_the_request_id() {
    let emitter = Emitter::new(emitter_config());
    let gateway = Gateway::new(emitter.clone(), GatewayConfig::default());
    // The test's runtime is single-threaded: the in-process request and the server's tasks run on
    // this thread, and see it.
    let _guard = tracing::subscriber::set_default(
        tracing_subscriber::registry().with(TracingLayer::new(emitter.clone())),
    );
    let server = TestServer::serve(emitter.clone(), gateway.clone(), app(&emitter, &gateway)).await;
    let (mut ws, _) = server.connect("source=app::users").await;
    until_live(&mut ws).await;
    let response = server.request("GET", "/api/users/7", &[], b"").await;
    let request_id = response.header("x-request-id").unwrap().to_owned();
    let (got, _) = until_entry(&mut ws, |_| true).await;
    let event = &got[0];
    assert_eq!(
        (event.level, event.message.as_str()),
        (Level::Info, "loading user")
    );
    assert_eq!(event.meta["cache"], "miss");
    assert_eq!(event.meta["requestId"], request_id.as_str());
    drop(ws);
    server.stop().await;
}
