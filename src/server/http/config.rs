//! [`GatewayConfig`]: security and the bounds on every buffer a peer can make the server fill.

use std::time::Duration;

use super::ratelimit::RateLimits;
use super::tls::Tls;
use crate::model::decode::ShapeLimits;
/// What a request does with the logs, and so which token it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Viewers, history, `/healthz`'s figures.
    Read,
    /// `POST /api/logs`, OTLP, Loki.
    Ingest,
}

/// How a [`Gateway`](super::Gateway) guards and bounds its endpoints. Start from `default()` and
/// adjust; every limit has a safe default.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// When set, every log endpoint (not `/healthz`) requires this token, as
    /// `Authorization: Bearer <token>` or the WebSocket subprotocol `vg.token.<token>`.
    pub token: Option<String>,
    /// When set, reading logs (the stream, `GET /api/logs`, `/healthz`'s figures) requires this
    /// token instead of [`token`](Self::token).
    pub read_token: Option<String>,
    /// When set, sending logs (`POST /api/logs`, OTLP, Loki) requires this token instead of
    /// [`token`](Self::token).
    pub ingest_token: Option<String>,
    /// Browser origins (`https://dash.example.com`) allowed besides the server's own; `*` allows any.
    pub allowed_origins: Vec<String>,
    /// Most viewers at once; more are closed with code 1013 ("try again later").
    pub max_connections: usize,
    /// Most HTTP connections open at once under [`serve`](super::serve), viewers included; more
    /// are answered 503 and closed before a byte of their request is read.
    pub max_http_connections: usize,
    /// Most HTTP connections open at once from one client address (an IPv6 client: its /64) under
    /// [`serve`](super::serve). Behind a reverse proxy every client has the proxy's address: raise
    /// it to `max_http_connections` there.
    pub max_connections_per_client: usize,
    /// Under [`serve`](super::serve), how long a client has to send a request's complete head,
    /// counted from when the connection opens or its previous response ends: so also how long a
    /// kept-alive connection may sit idle.
    pub header_timeout: Duration,
    /// How long a request may take to send its body and be answered (ingest); then 408. Applied by
    /// the router, so under any server.
    pub body_timeout: Duration,
    /// Under [`serve`](super::serve), how long a write to a client may wait without the client
    /// reading anything (a history download, a viewer's frames); then the connection is closed.
    pub write_timeout: Duration,
    /// Largest message a viewer may send (a `filter` message is a few hundred bytes).
    pub max_message_bytes: usize,
    /// Largest ingest body (`POST /api/logs`, OTLP's `/v1/logs`, Loki's push), both as sent and once
    /// decompressed; larger ones get 413.
    pub max_ingest_bytes: usize,
    /// Most ingest bodies (`POST /api/logs`, OTLP, Loki) being read and parsed at once. Each holds
    /// its body (up to [`max_ingest_bytes`](Self::max_ingest_bytes)) and what one entry of it
    /// expands into while parsed; more wait up to [`ingest_wait`](Self::ingest_wait), then get 503
    /// with `Retry-After`.
    pub max_concurrent_ingest: usize,
    /// How long an ingest request waits for its turn under
    /// [`max_concurrent_ingest`](Self::max_concurrent_ingest) before it is refused.
    pub ingest_wait: Duration,
    /// The deepest nesting and the most JSON values one entry of `POST /api/logs` may hold; an
    /// entry over either is rejected (and named in the reply) before it is parsed. OTLP records
    /// are held to them too (an OTLP/JSON record's text as sent; a protobuf record as the entry
    /// it becomes, once decoded).
    pub entry_limits: ShapeLimits,
    /// Most bytes queued for one viewer's socket; an entry larger than half of it is sent to
    /// viewers shortened.
    pub write_buffer_bytes: usize,
    /// Most bytes all viewers' sockets hold together: each viewer's write buffer keeps the size of
    /// the largest frame it was sent. A viewer whose next frame does not fit is closed with 1013
    /// and resumes after reconnecting.
    pub max_viewer_bytes: usize,
    /// How often each viewer is pinged.
    pub ping_interval: Duration,
    /// A viewer silent for this long (no pong, no message), or whose socket accepts nothing for
    /// this long, is dropped.
    pub peer_timeout: Duration,
    /// Most entries in one `entries` frame.
    pub batch_entries: usize,
    /// Most bytes (roughly) in one `entries` frame.
    pub batch_bytes: usize,
    /// `GET /api/logs` returns at most this many entries when the request names no `limit`.
    pub default_query_limit: usize,
    /// Most `GET /api/logs` answers being sent at once; more get 503 with `Retry-After`. Each holds
    /// a few entries in memory however large the answer (it is streamed), plus its socket's buffers.
    pub max_concurrent_queries: usize,
    /// The server's name in `hello`.
    pub server_name: String,
    /// Where [`Gateway::router`](super::Gateway::router) serves the web dashboard (`/logs/` by
    /// default; `/` for a server that is only a log gateway, as `vg serve` is); `None` serves none.
    /// The page itself holds no log data; what it shows comes from the stream, under the token and
    /// origin rules.
    pub dashboard: Option<String>,
    /// Per-client (IP address) limits on ingest requests and viewer connection attempts; off by
    /// default in the library (`vg serve` turns them on). See [`RateLimits`].
    pub rate_limits: RateLimits,
    /// When set, [`serve`](super::serve) speaks HTTPS (and `wss://`) with this certificate, on every
    /// connection; [`Tls::reload`] swaps it without dropping any. The handshake counts against
    /// [`header_timeout`](Self::header_timeout) and the connection caps. An app serving the router
    /// with its own server terminates TLS there instead.
    pub tls: Option<Tls>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            token: None,
            read_token: None,
            ingest_token: None,
            allowed_origins: Vec::new(),
            max_connections: 256,
            max_http_connections: 512,
            max_connections_per_client: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            max_message_bytes: 64 * 1024,
            max_ingest_bytes: 4 * 1024 * 1024,
            max_concurrent_ingest: 8,
            ingest_wait: Duration::from_secs(2),
            entry_limits: ShapeLimits::default(),
            write_buffer_bytes: 16 * 1024 * 1024,
            max_viewer_bytes: 128 * 1024 * 1024,
            ping_interval: Duration::from_secs(15),
            peer_timeout: Duration::from_secs(40),
            batch_entries: 512,
            batch_bytes: 256 * 1024,
            default_query_limit: 1000,
            max_concurrent_queries: 16,
            server_name: "vg".to_owned(),
            dashboard: Some("/logs/".to_owned()),
            rate_limits: RateLimits::default(),
            tls: None,
        }
    }
}

impl GatewayConfig {
    /// Requires this token (builder style). An empty token refuses every request rather than none:
    /// `token(std::env::var("VG_TOKEN").unwrap_or_default())` with the variable set but empty must
    /// not quietly turn authentication off. For no token, don't call this.
    #[must_use]
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Requires this token to read logs, instead of [`token`](Self::token) (builder style). Empty
    /// refuses every reader.
    #[must_use]
    pub fn read_token(mut self, token: impl Into<String>) -> Self {
        self.read_token = Some(token.into());
        self
    }

    /// Requires this token to send logs, instead of [`token`](Self::token) (builder style). Empty
    /// refuses every ingester.
    #[must_use]
    pub fn ingest_token(mut self, token: impl Into<String>) -> Self {
        self.ingest_token = Some(token.into());
        self
    }

    /// The token a request of this scope must carry, if any.
    pub(crate) fn token_for(&self, scope: Scope) -> Option<&str> {
        match scope {
            Scope::Read => self.read_token.as_deref(),
            Scope::Ingest => self.ingest_token.as_deref(),
        }
        .or(self.token.as_deref())
    }

    /// Allows one more browser origin (builder style).
    #[must_use]
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Sets the connection limit (builder style).
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the caps on open HTTP connections, in total and per client address (builder style).
    #[must_use]
    pub fn max_http_connections(mut self, total: usize, per_client: usize) -> Self {
        self.max_http_connections = total;
        self.max_connections_per_client = per_client;
        self
    }

    /// Sets the header (and keep-alive idle), body and write timeouts (builder style).
    #[must_use]
    pub fn timeouts(mut self, header: Duration, body: Duration, write: Duration) -> Self {
        self.header_timeout = header;
        self.body_timeout = body;
        self.write_timeout = write;
        self
    }

    /// Serves the web dashboard under this path prefix (builder style), e.g. `/` or `/ops/logs/`.
    #[must_use]
    pub fn dashboard(mut self, prefix: impl Into<String>) -> Self {
        self.dashboard = Some(prefix.into());
        self
    }

    /// Sets the per-client rate limits (builder style).
    #[must_use]
    pub fn rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// Serves HTTPS with this certificate and key under [`serve`](super::serve) (builder style).
    #[must_use]
    pub fn tls(mut self, tls: Tls) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves no web dashboard (builder style).
    #[must_use]
    pub fn no_dashboard(mut self) -> Self {
        self.dashboard = None;
        self
    }

    /// Sets the ping interval and the silence after which a peer is dropped (builder style).
    #[must_use]
    pub fn keepalive(mut self, ping_interval: Duration, peer_timeout: Duration) -> Self {
        self.ping_interval = ping_interval;
        self.peer_timeout = peer_timeout;
        self
    }
}
