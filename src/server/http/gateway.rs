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
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

use super::config::GatewayConfig;
use super::{auth, ingest, query, stream};
use crate::server::context::{NotLogged, Quiet};
use crate::server::store::Emitter;
use crate::wire::{STREAM_PATH, StreamQuery};

/// Close code for "at the connection limit, try again later".
pub(crate) const CLOSE_TRY_AGAIN: u16 = 1013;
/// How long [`serve`] waits for viewers to take their last entries and close frames before returning.
pub(crate) const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The log gateway: an [`Emitter`]'s history and live stream, served over HTTP and WebSocket.
///
/// Cheap to clone; clones share viewers, limits and shutdown.
#[derive(Clone, Debug)]
pub struct Gateway {
    shared: Arc<Shared>,
}

/// What every handler and connection of one gateway shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) emitter: Emitter,
    pub(crate) config: GatewayConfig,
    /// One permit per viewer: the connection limit, and (by taking them all) the wait for shutdown.
    pub(crate) permits: Arc<Semaphore>,
    /// Flips to `true` once: every viewer is sent what it is still owed, then closes with 1000.
    pub(crate) shutdown: watch::Sender<bool>,
    max_permits: u32,
}

impl Gateway {
    /// A gateway serving this emitter's entries.
    pub fn new(emitter: Emitter, config: GatewayConfig) -> Gateway {
        if config.token.as_deref() == Some("") {
            tracing::warn!(
                target: "vg",
                "the gateway's token is empty, so every viewer and ingester is refused"
            );
        }
        let max_permits =
            u32::try_from(config.max_connections.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Gateway {
            shared: Arc::new(Shared {
                emitter,
                permits: Arc::new(Semaphore::new(max_permits as usize)),
                shutdown: watch::Sender::new(false),
                max_permits,
                config,
            }),
        }
    }

    /// The emitter this gateway serves.
    pub fn emitter(&self) -> &Emitter {
        &self.shared.emitter
    }

    /// The routes: `GET /api/logs/stream` (WebSocket), `GET` and `POST /api/logs`, `GET /healthz`.
    /// Merge it into an app's router with `Router::merge`; it works with any router state. Merge it
    /// before adding [`RequestLogLayer`](crate::server::RequestLogLayer): the layer then also covers the
    /// router's fallback (404s), and it leaves these routes' own requests out of the log.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        Router::new()
            .route(STREAM_PATH, get(stream))
            .route("/api/logs", get(query::handle).post(ingest::handle))
            .route("/healthz", get(healthz))
            // Routes only: the fallback must stay unmarked, since a merge may make it the app's.
            .route_layer(axum::middleware::map_response(not_logged))
            .with_state(Arc::clone(&self.shared))
    }

    /// Viewers connected right now.
    pub fn viewers(&self) -> usize {
        self.shared.max_permits as usize - self.shared.permits.available_permits()
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
/// then, e.g. a "shutting down" logged in `shutdown`) and waits briefly for them.
///
/// Accepted sockets get `TCP_NODELAY`, so small batches leave at once. If you run `axum::serve`
/// yourself, do the same with `axum::serve::ListenerExt::tap_io` and call [`Gateway::shutdown`]
/// in your shutdown signal.
pub async fn serve<F>(
    listener: TcpListener,
    app: Router,
    gateway: Gateway,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let listener = listener.tap_io(|tcp| {
        // Without NODELAY a small batch can wait for the peer's delayed ACK (tens of ms).
        let _ = tcp.set_nodelay(true);
    });
    let closing = gateway.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            closing.shutdown();
        })
        .await?;
    // axum does not track upgraded connections, so wait for the viewers here.
    let _ = tokio::time::timeout(CLOSE_GRACE, gateway.closed()).await;
    Ok(())
}

/// The browser-origin and token checks shared by every endpoint that reads or writes logs: the
/// response refusing the request, if it must be refused.
pub(crate) fn refusal(shared: &Shared, headers: &HeaderMap) -> Option<Response> {
    let has_token = shared.config.token.is_some();
    if !auth::origin_ok(headers, &shared.config.allowed_origins, has_token) {
        let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let body = match text(header::ORIGIN) {
            Some(origin) => format!(
                "origin {origin} is not allowed; allow it on the server (e.g. vg serve --allow-origin {origin})\n"
            ),
            // Addressed by a name DNS could rebind, on a server without a token (see `auth`).
            None => {
                let host = text(header::HOST).unwrap_or("?");
                format!(
                    "no token set, so only IP or localhost addresses are served (DNS rebinding); set a token or allow this name: vg serve --allow-origin http://{host}\n"
                )
            }
        };
        return Some((StatusCode::FORBIDDEN, body).into_response());
    }
    if let Some(token) = &shared.config.token
        && !auth::token_ok(token, headers)
    {
        let mut response = (
            StatusCode::UNAUTHORIZED,
            "a valid token is required: send Authorization: Bearer <token>\n",
        )
            .into_response();
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"vg\""),
        );
        return Some(response);
    }
    None
}

async fn stream(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    if let Some(refusal) = refusal(&shared, &headers) {
        return refusal;
    }
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
    let query = StreamQuery::from_query(raw.as_deref().unwrap_or(""));
    match Arc::clone(&shared.permits).try_acquire_owned() {
        Ok(permit) => upgrade
            .on_upgrade(move |socket| Quiet::new(stream::run(socket, shared, query, permit))),
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

async fn healthz(State(shared): State<Arc<Shared>>) -> Response {
    let gateway = Gateway { shared };
    axum::Json(serde_json::json!({"status": "ok", "viewers": gateway.viewers()})).into_response()
}
