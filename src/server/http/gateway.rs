//! The HTTP face of the server: the router an app merges into its own, the upgrade to a viewer
//! connection (with the token, `Origin` and connection-limit checks), and [`serve`].
//!
//! Checks happen before the upgrade where HTTP can answer them (403 for a foreign origin, 401 for a
//! missing or wrong token). The connection limit is answered after the upgrade with close code 1013,
//! because that is what the protocol promises clients: "full, try again later", not an HTTP error.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{
    CloseFrame, Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection,
};
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;

use super::auth::{self, Authorized};
use super::config::GatewayConfig;
use super::state::Shared;
use super::stream::{self, CLOSE_GRACE, CLOSE_TRY_AGAIN};
use super::{alerts, ingest, listen, loki, metrics, otlp, query, ratelimit, web};
use crate::server::cluster::Cluster;
use crate::server::context::{NotLogged, Quiet};
use crate::server::store::Emitter;
use crate::wire::{STREAM_PATH, StreamQuery};

/// The log gateway: an [`Emitter`]'s history and live stream, served over HTTP and WebSocket.
///
/// Cheap to clone; clones share viewers, limits and shutdown.
#[derive(Clone, Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
}

impl Gateway {
    /// A gateway serving this emitter's entries.
    pub fn new(emitter: Emitter, config: GatewayConfig) -> Gateway {
        for (name, token) in [
            ("token", &config.token),
            ("read token", &config.read_token),
            ("ingest token", &config.ingest_token),
        ] {
            if token.as_deref() == Some("") {
                tracing::warn!(
                    target: "vg",
                    "the gateway's {name} is empty, so every request that needs it is refused"
                );
            }
        }
        Gateway {
            shared: Arc::new(Shared::new(emitter, config)),
        }
    }

    /// Shows `cluster`'s Redis status in `/healthz`, and serves the merged stream of every instance
    /// publishing to its Redis stream to viewers asking with `cursor` (builder style). Only the first
    /// call counts.
    #[must_use]
    pub fn with_cluster(self, cluster: Cluster) -> Gateway {
        let _ = self.shared.cluster.set(cluster);
        self
    }

    /// The emitter this gateway serves.
    pub fn emitter(&self) -> &Emitter {
        &self.shared.emitter
    }

    /// The routes: `GET /api/logs/stream` (WebSocket), `GET` and `POST /api/logs`, `POST /v1/logs`
    /// (OTLP/HTTP logs), `POST /loki/api/v1/push` (Loki's push API), `GET /healthz`, `GET /metrics`
    /// (Prometheus), and the web dashboard under [`GatewayConfig::dashboard`] (`/logs/` by default).
    /// Merge it into an app's router with `Router::merge`; it works with any router state. Merge it
    /// before adding [`RequestLogLayer`](crate::server::RequestLogLayer): the layer then also covers the
    /// router's fallback (404s), and it leaves these routes' own requests out of the log.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let routes = match &self.shared.config.dashboard {
            Some(prefix) => web::router(prefix),
            None => Router::new(),
        };
        routes
            .route(STREAM_PATH, get(stream))
            .route("/api/logs", get(query::handle).post(ingest::handle))
            .route("/api/logs/stats", get(super::stats::handle))
            .route(otlp::PATH, post(otlp::handle))
            .route(loki::PATH, post(loki::handle))
            .route("/healthz", get(healthz))
            .route(alerts::PATH, get(alerts::status))
            .route(alerts::RELOAD_PATH, post(alerts::reload))
            .route(metrics::PATH, get(metrics::handle))
            // A body sent slowly holds a connection and a buffer: answer 408 instead. Quick for the
            // other routes, whose responses (an upgrade, a stream) start at once.
            .route_layer(TimeoutLayer::with_status_code(
                StatusCode::REQUEST_TIMEOUT,
                self.shared.config.body_timeout,
            ))
            // Routes only: the fallback must stay unmarked, since a merge may make it the app's.
            .route_layer(axum::middleware::map_response(not_logged))
            .route_layer(axum::middleware::from_fn_with_state(
                Arc::clone(&self.shared.limiters),
                ratelimit::limit,
            ))
            .with_state(Arc::clone(&self.shared))
    }

    /// Serves these alert rules' state at `GET /api/alerts` and reloads them from their file on
    /// `POST /api/alerts/reload` (both need the token). Only the first call takes effect.
    pub fn alerts(&self, alerts: crate::server::alerts::Alerts) {
        let _ = self.shared.alerts.set(alerts);
    }

    /// Viewers connected right now.
    pub fn viewers(&self) -> usize {
        self.shared.viewers()
    }

    /// Counts entries `vg serve --stdin` takes in, for `GET /metrics`.
    #[cfg(feature = "cli")]
    pub(crate) fn count_stdin(&self, entries: usize) {
        self.shared
            .metrics
            .ingested(super::counters::Ingest::Stdin, entries);
    }

    /// Asks every viewer to close (code 1000) and refuses new ones. Each is first sent the entries
    /// emitted until now that it has not had, so an app's last words reach it. Returns at once; see
    /// [`Gateway::closed`].
    pub fn shutdown(&self) {
        self.shared.shutdown.send_replace(true);
    }

    /// Resolves once no viewer is connected.
    pub async fn closed(&self) {
        // Holding every permit at once means no connection holds one.
        if let Ok(all) = self
            .shared
            .permits
            .acquire_many(self.shared.max_permits)
            .await
        {
            drop(all);
        }
    }
}

/// Serves `app` (usually your router merged with [`Gateway::router`]) until `shutdown` resolves, then
/// closes viewers with code 1000 (after sending each what it has not had of the entries emitted until
/// then, e.g. a "shutting down" logged in `shutdown`) and waits briefly for them, then closes the
/// emitter ([`Emitter::close`]) so that its sinks take the last entries.
///
/// Every connection is bounded by the gateway's [`GatewayConfig`]: the caps on open connections (in
/// total and per client address, checked before a byte is read), the header timeout (also the
/// idle limit of a kept-alive connection) and the write timeout. Handlers can read the peer's address
/// with `axum::extract::ConnectInfo<SocketAddr>`. Accepted sockets get `TCP_NODELAY`, so small
/// batches leave at once. Serves HTTP/1.1 (and WebSocket upgrades), not HTTP/2; HTTPS with
/// [`GatewayConfig::tls`], the handshake bounded by the header timeout.
///
/// Under `axum::serve` instead, the router's own limits still hold (the body timeout, the viewer
/// limit, every size limit) but these connection bounds do not; call [`Gateway::shutdown`] in your
/// shutdown signal.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    gateway: Gateway,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let config = &gateway.shared.config;
    let limits = listen::Limits {
        slots: Arc::clone(&gateway.shared.slots),
        header_timeout: config.header_timeout,
        write_timeout: config.write_timeout,
        tls: config
            .tls
            .as_ref()
            .map(|tls| tokio_rustls::TlsAcceptor::from(tls.server_config())),
    };
    let closing = gateway.clone();
    listen::accept(listener, app, limits, async move {
        shutdown.await;
        closing.shutdown();
    })
    .await;
    // Upgraded connections are the viewers' own tasks, so wait for the viewers here.
    let _ = tokio::time::timeout(CLOSE_GRACE, gateway.closed()).await;
    // Then the sinks take the last entries (a durable history flushes); off the runtime's threads,
    // since closing waits for them.
    let emitter = gateway.emitter().clone();
    let _ = tokio::task::spawn_blocking(move || emitter.close()).await;
    Ok(())
}

async fn stream(
    _: Authorized,
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let mut upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    if let Some(protocol) = auth::select_protocol(&headers) {
        upgrade.set_selected_protocol(protocol);
    }
    let config = &shared.config;
    let upgrade = upgrade
        .max_message_size(config.max_message_bytes)
        .max_frame_size(config.max_message_bytes)
        // Must exceed the 128 KiB write_buffer_size, or tungstenite panics.
        .max_write_buffer_size(config.write_buffer_bytes.max(256 * 1024));
    let query = StreamQuery::parse_compiled(raw.as_deref().unwrap_or(""), chrono::Utc::now());
    match Arc::clone(&shared.permits).try_acquire_owned() {
        Ok(permit) => {
            upgrade.on_upgrade(move |socket| Quiet::new(stream::run(socket, shared, query, permit)))
        }
        Err(_) => upgrade.on_upgrade(|socket| {
            Quiet::new(close_at_once(
                socket,
                CLOSE_TRY_AGAIN,
                "server is at its connection limit",
            ))
        }),
    }
}

async fn close_at_once(mut socket: WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = tokio::time::timeout(
        Duration::from_secs(2),
        socket.send(Message::Close(Some(frame))),
    )
    .await;
}

/// Marks the gateway's responses for the request-logging layer (see [`NotLogged`]).
async fn not_logged(mut response: Response) -> Response {
    response.extensions_mut().insert(NotLogged);
    response
}

/// Liveness for anyone (a load balancer sends no token); for a request that passes the log
/// endpoints' checks, also the figures an operator watches: what history holds and what each sink has
/// written and missed (a sink that misses entries is falling behind). Counts only, never log content,
/// but the rate and the sinks' names are the operator's business.
async fn healthz(
    authorized: Result<Authorized, Response>,
    State(shared): State<Arc<Shared>>,
) -> Response {
    if authorized.is_err() {
        return axum::Json(serde_json::json!({"status": "ok", "viewers": shared.viewers()}))
            .into_response();
    }
    let history = shared.emitter.stats();
    let (failed, limited) = shared.failed_auth.counts();
    axum::Json(serde_json::json!({
        "status": "ok",
        "viewers": shared.viewers(),
        "history": {
            "entries": history.entries,
            "bytes": history.bytes,
            "oldest_seq": history.oldest_seq,
            "newest_seq": history.newest_seq,
        },
        "connections": {
            "open": shared.slots.open(),
            "refused": shared.slots.refused(),
        },
        "auth": {
            "failed": failed,
            "limited": limited,
        },
        "sinks": shared.emitter.sink_stats(),
        "disk": shared.emitter.disk_stats(),
        "redis": shared.cluster.get().map(Cluster::stats),
        // A notifier that keeps failing is something an operator watches for.
        "alert_notifiers": shared.alerts.get().map(|a| a.status().notifiers),
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;
    use crate::model::{Level, LogEntry};
    use crate::server::{EmitterConfig, Sink};

    struct Discard;

    impl Sink for Discard {
        fn write(&mut self, _: &[Arc<LogEntry>]) {}
    }

    async fn healthz(gateway: &Gateway) -> serde_json::Value {
        // Addressed by IP, as a tokenless server requires of a request without `Origin`.
        let request = Request::get("/healthz")
            .header("host", "127.0.0.1")
            .body(Body::empty())
            .unwrap();
        let response = gateway.router::<()>().oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&body).unwrap()
    }

    #[tokio::test]
    async fn healthz_shows_history_and_what_each_sink_wrote() {
        let emitter = Emitter::new(
            EmitterConfig::default()
                .read_env(false)
                .history(3, usize::MAX),
        );
        emitter.add_sink("discard", Discard).unwrap();
        for i in 0..5 {
            emitter.log(Level::Info, "t", format!("m{i}"));
        }
        let gateway = Gateway::new(emitter, GatewayConfig::default());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let health = loop {
            let health = healthz(&gateway).await;
            if health["sinks"][0]["position"] == 5 || tokio::time::Instant::now() > deadline {
                break health;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(health["status"], "ok");
        assert_eq!(health["viewers"], 0);
        assert_eq!(health["history"]["entries"], 3);
        assert_eq!(health["history"]["oldest_seq"], 3);
        assert_eq!(health["history"]["newest_seq"], 5);
        let sink = &health["sinks"][0];
        assert_eq!(sink["name"], "discard");
        assert_eq!(
            (sink["written"].clone(), sink["missed"].clone()),
            (5.into(), 0.into())
        );
        assert_eq!(sink["running"], true);
    }

    #[tokio::test]
    async fn healthz_without_the_token_says_only_that_it_is_up() {
        let emitter = Emitter::new(EmitterConfig::default().read_env(false));
        emitter.log(Level::Info, "t", "x");
        let gateway = Gateway::new(emitter, GatewayConfig::default().token("s3cret"));
        let health = healthz(&gateway).await;
        assert_eq!(health, serde_json::json!({"status": "ok", "viewers": 0}));
        let request = Request::get("/healthz")
            .header("host", "127.0.0.1")
            .header("authorization", "Bearer s3cret")
            .body(Body::empty())
            .unwrap();
        let response = gateway.router::<()>().oneshot(request).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let detailed: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(detailed["history"]["newest_seq"], 1);
    }
}
