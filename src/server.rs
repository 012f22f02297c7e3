//! What an app gets with the `server` feature, and the parts `vg serve` and `vg demo` are built from.
//!
//! - [`Emitter`]: the cloneable handle an app logs through. `emit` never blocks: it stamps a seq, keeps
//!   the entry in a bounded history and hands it to viewers.
//! - [`Gateway`]: the axum routes viewers and ingesters use (`docs/protocol.md`, `docs/server.md`):
//!   `GET /api/logs/stream` (WebSocket), `GET`/`POST /api/logs`, `GET /healthz`; and [`serve`] to run
//!   them (or your app with them merged in) with `TCP_NODELAY` and a graceful shutdown.
//! - [`Tls`]: HTTPS (and `wss://`) for [`serve`], from PEM files, reloaded in place
//!   ([`GatewayConfig::tls`]).
//! - [`RequestLogLayer`]: a `tower::Layer` logging one entry per HTTP request, secrets redacted.
//! - [`TracingLayer`]: a `tracing_subscriber::Layer` streaming the app's `tracing` events.
//!
//! ```no_run
//! use vg::server::{Emitter, EmitterConfig, Gateway, GatewayConfig, RequestLogLayer};
//! # async fn app() -> std::io::Result<()> {
//! let emitter = Emitter::new(EmitterConfig::default());
//! let gateway = Gateway::new(emitter.clone(), GatewayConfig::default().token("s3cret"));
//! let app = axum::Router::new()
//!     .route("/", axum::routing::get(|| async { "hello" }))
//!     .merge(gateway.router())
//!     .layer(RequestLogLayer::new(emitter.clone()));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! vg::server::serve(listener, app, gateway, async {
//!     let _ = tokio::signal::ctrl_c().await;
//! })
//! .await
//! # }
//! ```

pub mod alerts;
mod cluster;
mod context;
mod http;
mod store;
mod taps;

pub use cluster::{
    Cluster, ClusterError, DEFAULT_STREAM, RedisConfig, RedisStats,
    without_password as redis_display_url,
};
pub use context::{RequestId, UserId};
pub use http::{Gateway, GatewayConfig, Rate, RateLimits, Tls, TlsError, serve};
#[cfg(feature = "cli")]
pub(crate) use store::instance_from_env;
pub use store::{
    Bounds, DiskConfig, DiskError, DiskStats, Emitter, EmitterConfig, Fsync, History, HistoryStats,
    Sink, SinkStats,
};
pub use taps::{
    REQUEST_ID_HEADER, Redaction, RequestLog, RequestLogLayer, ResponseFuture, TracingLayer,
};
