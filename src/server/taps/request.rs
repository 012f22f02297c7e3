//! HTTP request logging as a real `tower::Layer`: one entry per request, in the original format.
//!
//! `GET /api/users 200 12ms` with meta `method`, `path` (the matched route where the router knows
//! it), `statusCode`, `duration` (ms until the response head is ready; hundredths below 1 ms, as in
//! `200 0.42ms`), `requestId` and, when the app provides one, `userId`. Headers are never logged (so neither `Authorization`, `Cookie` nor API-key
//! headers can leak) and secrets in the query string are redacted before it is logged as `query`.
//!
//! The request id comes from `x-request-id` when the caller sent a sane one, otherwise it is
//! generated; either way the handler sees it in the request (header and [`RequestId`] extension),
//! the response echoes it, and `tracing` events inside the request carry it (see [`RequestId::current`]).

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use axum::extract::MatchedPath;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, Response, Uri};
use tower::{Layer, Service};

use super::redact::Redaction;
use crate::model::{Level, LogEntry, REQUEST_ID_KEY};
use crate::server::context::{NotLogged, RequestId, UserId};
use crate::server::store::Emitter;

/// The header carrying the request id, both ways.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");
/// Longest incoming request id that is kept; longer ones are replaced.
const MAX_REQUEST_ID: usize = 128;

/// Logs one entry per request into an [`Emitter`]. Apply with `Router::layer` (which also gives it
/// the matched route) or around any tower service.
#[derive(Debug, Clone)]
pub struct RequestLogLayer {
    /// Shared, because every request takes the settings into its pending log entry: one reference
    /// count to bump instead of one per setting.
    settings: Arc<Settings>,
}

#[derive(Debug)]
struct Settings {
    emitter: Emitter,
    source: String,
    redaction: Redaction,
}

impl RequestLogLayer {
    /// Logs into this emitter with source `http`.
    pub fn new(emitter: Emitter) -> RequestLogLayer {
        RequestLogLayer {
            settings: Arc::new(Settings {
                emitter,
                source: "http".to_owned(),
                redaction: Redaction::default(),
            }),
        }
    }

    /// Uses this source name instead of `http` (builder style).
    #[must_use]
    pub fn source(self, name: impl Into<String>) -> RequestLogLayer {
        RequestLogLayer {
            settings: Arc::new(Settings {
                emitter: self.settings.emitter.clone(),
                source: name.into(),
                redaction: self.settings.redaction.clone(),
            }),
        }
    }

    /// Also redacts the app's own secret names in query strings (builder style); vg's built-in
    /// names are always redacted.
    #[must_use]
    pub fn redaction(self, redaction: Redaction) -> RequestLogLayer {
        RequestLogLayer {
            settings: Arc::new(Settings {
                emitter: self.settings.emitter.clone(),
                source: self.settings.source.clone(),
                redaction,
            }),
        }
    }
}

impl<S> Layer<S> for RequestLogLayer {
    type Service = RequestLog<S>;

    fn layer(&self, inner: S) -> RequestLog<S> {
        RequestLog {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`RequestLogLayer`] wraps around yours.
#[derive(Debug, Clone)]
pub struct RequestLog<S> {
    inner: S,
    layer: RequestLogLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        // Checked (sane) or generated (hex), so it is always a valid header value; made once and
        // shared by the request, the response and the log entry.
        let id: Arc<str> = match incoming_id(request.headers()) {
            Some(id) => Arc::from(id),
            None => Arc::from(new_request_id().as_str()),
        };
        // The header values borrow the same `Arc` (no copy), so the request's and the response's
        // header are one allocation between them.
        let header =
            HeaderValue::from_maybe_shared(Bytes::from_owner(SharedId(Arc::clone(&id)))).ok();
        if let Some(value) = &header {
            request
                .headers_mut()
                .insert(REQUEST_ID_HEADER, value.clone());
        }
        request
            .extensions_mut()
            .insert(RequestId::from(Arc::clone(&id)));
        // Cheap clones (reference counts), turned into text only when the entry is built.
        let route = request.extensions().get::<MatchedPath>().cloned();
        // Set by an auth middleware outside this layer; one inside sets it on the response.
        let user = request.extensions().get::<UserId>().map(|u| u.0.clone());
        let pending = Pending {
            started,
            method: request.method().clone(),
            uri: request.uri().clone(),
            route,
            id: RequestId::from(Arc::clone(&id)),
            user,
            header,
            settings: Arc::clone(&self.layer.settings),
        };
        ResponseFuture {
            inner: RequestId::from(id).scope(self.inner.call(request)),
            pending: Some(pending),
        }
    }
}

/// What is known about a request before its response.
#[derive(Debug)]
struct Pending {
    started: Instant,
    method: Method,
    uri: Uri,
    route: Option<MatchedPath>,
    id: RequestId,
    /// The user the request carried in its extensions, if any.
    user: Option<String>,
    /// The id as a header value for the response.
    header: Option<HeaderValue>,
    settings: Arc<Settings>,
}

pin_project_lite::pin_project! {
    /// The response future of [`RequestLog`]: the inner future, run with the request id current.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: tokio::task::futures::TaskLocalFuture<RequestId, F>,
        pending: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = std::task::ready!(this.inner.poll(cx));
        if let Some(mut pending) = this.pending.take() {
            match &mut result {
                Ok(response) => {
                    if let Some(value) = pending.header.take() {
                        response.headers_mut().insert(REQUEST_ID_HEADER, value);
                    }
                    if response.extensions().get::<NotLogged>().is_none() {
                        if let Some(user) = response.extensions().get::<UserId>() {
                            pending.user = Some(user.0.clone());
                        }
                        pending.log(Some(response.status().as_u16()));
                    }
                }
                Err(_) => pending.log(None),
            }
        }
        Poll::Ready(result)
    }
}

impl Pending {
    /// `status` is `None` when the service failed without a response.
    fn log(self, status: Option<u16>) {
        let millis = Millis::of(self.started.elapsed());
        let level = match status {
            Some(500..) | None => Level::Error,
            Some(400..) => Level::Warn,
            Some(_) => Level::Info,
        };
        let path = self.uri.path();
        let mut message = String::with_capacity(path.len() + 24);
        let _ = match status {
            Some(s) => write!(message, "{} {path} {s} {millis}ms", self.method),
            None => write!(message, "{} {path} failed {millis}ms", self.method),
        };
        let settings = &self.settings;
        let mut entry = LogEntry::new(level, settings.source.as_str(), message);
        // Sized once: this runs on every request, and growing the map would reallocate it twice.
        entry.meta = crate::model::Meta::with_capacity(7);
        let meta = &mut entry.meta;
        meta.insert("method", self.method.as_str());
        meta.insert(
            "path",
            self.route.as_ref().map_or(path, MatchedPath::as_str),
        );
        if let Some(status) = status {
            meta.insert("statusCode", status);
        }
        meta.insert("duration", millis.value());
        meta.insert(REQUEST_ID_KEY, self.id.as_str());
        if let Some(user) = self.user {
            meta.insert("userId", user);
        }
        if let Some(query) = self
            .uri
            .query()
            .map(|q| settings.redaction.query(q))
            .filter(|q| !q.is_empty())
        {
            meta.insert("query", query);
        }
        // The entry has its own request's id already: `record` skips `emit`'s look for one.
        settings.emitter.record(entry);
    }
}

/// A request's duration in milliseconds, as logged: whole milliseconds from 1 ms up, hundredths
/// below, so a fast app's requests read `0.42ms` instead of all reading `0ms`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Millis {
    Whole(u64),
    /// Hundredths of a millisecond, below 100.
    Hundredths(u8),
}

impl Millis {
    fn of(elapsed: std::time::Duration) -> Millis {
        let hundredths = (elapsed.as_micros() + 5) / 10;
        match u8::try_from(hundredths) {
            Ok(h) if h < 100 => Millis::Hundredths(h),
            // Rounded up to 1 ms when just under it, so `0.999` never reads as `0ms`.
            _ => Millis::Whole(
                u64::try_from(elapsed.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
            ),
        }
    }

    /// The number for `meta.duration`: an integer, or a fraction below 1.
    fn value(self) -> serde_json::Value {
        match self {
            Millis::Whole(ms) => ms.into(),
            Millis::Hundredths(h) => (f64::from(h) / 100.0).into(),
        }
    }
}

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The message says the number exactly as `meta.duration` holds it.
        write!(f, "{}", self.value())
    }
}

/// The caller's `x-request-id` when it is short printable ASCII (it ends up in logs and headers).
fn incoming_id(headers: &http::HeaderMap) -> Option<&str> {
    let id = headers.get(REQUEST_ID_HEADER)?.to_str().ok()?.trim();
    let sane =
        !id.is_empty() && id.len() <= MAX_REQUEST_ID && id.bytes().all(|b| b.is_ascii_graphic());
    sane.then_some(id)
}

/// 64 random bits as 16 hex digits, on the stack (this runs for every request, and the id is then
/// copied once, into the `Arc` every part of the request shares).
fn new_request_id() -> HexId {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bits = rand::random::<u64>();
    let mut digits = [0u8; 16];
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = HEX[((bits >> ((15 - i) * 4)) & 0xf) as usize];
    }
    HexId(digits)
}

/// A request id as header bytes.
struct SharedId(Arc<str>);

impl AsRef<[u8]> for SharedId {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A generated request id: 16 ASCII hex digits.
struct HexId([u8; 16]);

impl HexId {
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("hex digits are ASCII")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_hundredths_below_a_millisecond() {
        let at = |micros| {
            let m = Millis::of(std::time::Duration::from_micros(micros));
            (m.to_string(), m.value())
        };
        assert_eq!(at(420), ("0.42".into(), serde_json::json!(0.42)));
        assert_eq!(at(7), ("0.01".into(), serde_json::json!(0.01)));
        assert_eq!(at(2), ("0.0".into(), serde_json::json!(0.0)));
        assert_eq!(at(100), ("0.1".into(), serde_json::json!(0.1)));
        assert_eq!(at(996), ("1".into(), serde_json::json!(1)));
        assert_eq!(at(12_700), ("12".into(), serde_json::json!(12)));
    }

    #[test]
    fn incoming_ids_must_be_sane() {
        let with = |v: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(REQUEST_ID_HEADER, HeaderValue::from_str(v).unwrap());
            incoming_id(&headers).map(str::to_owned)
        };
        assert_eq!(with("abc-123").as_deref(), Some("abc-123"));
        assert_eq!(with("has space"), None);
        assert_eq!(with(&"x".repeat(200)), None);
        assert_eq!(incoming_id(&http::HeaderMap::new()), None);
        let id = new_request_id();
        assert!(id.as_str().len() == 16 && id.as_str().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(id.as_str(), new_request_id().as_str());
    }
}
