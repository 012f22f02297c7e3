//! Per-client rate limits on ingest requests and viewer connection attempts, answered `429 Too Many
//! Requests` with `Retry-After`, so one client flooding the server cannot starve the others.
//!
//! A client is its IP address, as the connection shows it (`ConnectInfo<SocketAddr>`, which
//! [`serve`](super::serve) provides). An app that serves the router without connect info gets no
//! limits: it has no address to key on. Each limiter is governor's keyed GCRA: a few bytes per
//! client, refilled continuously; the clients not seen for a while are pruned once many are held,
//! so the table stays bounded.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::wire::STREAM_PATH;

/// Ingest routes (POST): vg's own, OTLP's and Loki's.
const INGEST_PATHS: &[&str] = &["/api/logs", "/v1/logs", "/loki/api/v1/push"];
/// Once this many clients are tracked, the ones whose allowance is full again are forgotten.
const PRUNE_ABOVE: usize = 10_000;
/// How often (in checks) the table's size is looked at.
const PRUNE_EVERY: u64 = 1024;

/// One limit: a steady rate with a burst on top.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed per `per`, on average.
    pub count: NonZeroU32,
    /// The period `count` is spread over.
    pub per: Duration,
    /// Requests allowed at once after a quiet spell.
    pub burst: NonZeroU32,
}

impl Rate {
    /// `count` per `per`, with bursts of up to `burst`.
    pub fn new(count: NonZeroU32, per: Duration, burst: NonZeroU32) -> Rate {
        Rate { count, per, burst }
    }

    fn quota(self) -> Quota {
        // One request back every `per / count`; `per` of zero would mean no limit, so at least 1 ns.
        let every = (self.per / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(every)
            .expect("a non-zero period")
            .allow_burst(self.burst)
    }
}

/// What each client may do. `None` turns a limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Ingest requests (`POST /api/logs`, `/v1/logs`, `/loki/api/v1/push`) per client.
    pub ingest: Option<Rate>,
    /// WebSocket connection attempts (`GET /api/logs/stream`) per client.
    pub connect: Option<Rate>,
}

/// The limiters of one gateway.
pub(crate) struct Limiters {
    ingest: Option<DefaultKeyedRateLimiter<IpAddr>>,
    connect: Option<DefaultKeyedRateLimiter<IpAddr>>,
    checks: AtomicU64,
    /// Requests answered 429, by [`Limited`].
    limited: [AtomicU64; 2],
}

/// Which limit refused a request, for `GET /metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limited {
    /// An ingest request.
    Ingest,
    /// A viewer's connection attempt.
    Connect,
}

impl Limited {
    pub(crate) const ALL: [Limited; 2] = [Limited::Ingest, Limited::Connect];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Limited::Ingest => "ingest",
            Limited::Connect => "connect",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Limited::Ingest => "ingest requests",
            Limited::Connect => "connection attempts",
        }
    }
}

impl std::fmt::Debug for Limiters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiters")
            .field("ingest", &self.ingest.is_some())
            .field("connect", &self.connect.is_some())
            .finish_non_exhaustive()
    }
}

impl Limiters {
    pub(crate) fn new(limits: RateLimits) -> Limiters {
        let keyed = |rate: Rate| DefaultKeyedRateLimiter::keyed(rate.quota());
        Limiters {
            ingest: limits.ingest.map(keyed),
            connect: limits.connect.map(keyed),
            checks: AtomicU64::new(0),
            limited: Default::default(),
        }
    }

    /// Requests answered 429 by this limit since start.
    pub(crate) fn limited(&self, which: Limited) -> u64 {
        self.limited[which as usize].load(Ordering::Relaxed)
    }

    /// How long `client` must wait before this request would be allowed; `None` to go ahead.
    fn check(&self, limiter: &DefaultKeyedRateLimiter<IpAddr>, client: IpAddr) -> Option<Duration> {
        if self
            .checks
            .fetch_add(1, Ordering::Relaxed)
            .is_multiple_of(PRUNE_EVERY)
            && limiter.len() > PRUNE_ABOVE
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let refused = limiter.check_key(&client).err()?;
        Some(refused.wait_time_from(DefaultClock::default().now()))
    }
}

/// The middleware: checks the request's limit, if it has one, before the handler runs.
pub(crate) async fn limit(
    State(limiters): State<Arc<Limiters>>,
    request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    let path = request.uri().path();
    let (limiter, what) = match (request.method(), client) {
        (&Method::POST, Some(_)) if INGEST_PATHS.contains(&path) => {
            (limiters.ingest.as_ref(), Limited::Ingest)
        }
        (&Method::GET, Some(_)) if path == STREAM_PATH => {
            (limiters.connect.as_ref(), Limited::Connect)
        }
        _ => (None, Limited::Ingest),
    };
    if let (Some(limiter), Some(client)) = (limiter, client)
        && let Some(wait) = limiters.check(limiter, client)
    {
        limiters.limited[what as usize].fetch_add(1, Ordering::Relaxed);
        return too_many(what.noun(), client, wait);
    }
    next.run(request).await
}

fn too_many(what: &str, client: IpAddr, wait: Duration) -> Response {
    // Whole seconds, rounded up: `Retry-After: 0` would invite an immediate retry.
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let body = format!(
        "too many {what} from {client}; retry after {seconds} s (the server's per-client limit)\n"
    );
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, seconds.to_string())],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_burst_waits_and_others_do_not() {
        let limiters = Limiters::new(RateLimits {
            ingest: Some(Rate::new(
                NonZeroU32::new(1).unwrap(),
                Duration::from_secs(10),
                NonZeroU32::new(3).unwrap(),
            )),
            connect: None,
        });
        let limiter = limiters.ingest.as_ref().unwrap();
        let (flood, other) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(limiters.check(limiter, flood), None);
        }
        let wait = limiters.check(limiter, flood).expect("over the burst");
        assert!(
            wait > Duration::from_secs(5) && wait <= Duration::from_secs(10),
            "{wait:?}"
        );
        assert_eq!(limiters.check(limiter, other), None);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up() {
        let response = too_many(
            "ingest requests",
            [10, 0, 0, 1].into(),
            Duration::from_millis(1500),
        );
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[header::RETRY_AFTER], "2");
        let response = too_many("ingest requests", [10, 0, 0, 1].into(), Duration::ZERO);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    }
}
