//! What every handler and connection of one gateway shares.

use std::sync::{Arc, OnceLock};

use tokio::sync::{Semaphore, watch};

use super::auth_limit::FailedAuth;
use super::config::GatewayConfig;
use super::counters::Metrics;
use super::listen::Slots;
use super::ratelimit::Limiters;
use crate::server::alerts::Alerts;
use crate::server::cluster::Cluster;
use crate::server::store::{Emitter, History};

/// The gateway's state, behind one `Arc` in every handler.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Where live entries come from.
    pub(crate) emitter: Emitter,
    /// Where past entries come from (backfill, resume, windows, `GET /api/logs`).
    pub(crate) history: Arc<dyn History>,
    pub(crate) config: GatewayConfig,
    /// One permit per viewer: the connection limit, and (by taking them all) the wait for shutdown.
    pub(crate) permits: Arc<Semaphore>,
    /// Flips to `true` once: every viewer is sent what it is still owed, then closes with 1000.
    pub(crate) shutdown: watch::Sender<bool>,
    pub(crate) max_permits: u32,
    /// One permit per `GET /api/logs` answer being sent.
    pub(crate) queries: Arc<Semaphore>,
    /// One permit per byte all viewers' sockets may hold (`max_viewer_bytes`).
    pub(crate) viewer_bytes: Arc<Semaphore>,
    /// One permit per ingest body being read and parsed.
    pub(crate) ingest: Arc<Semaphore>,
    /// The caps on open HTTP connections, when served by [`serve`](super::serve).
    pub(crate) slots: Arc<Slots>,
    /// The Redis link, when the emitter publishes to one (its status goes into `/healthz`).
    pub(crate) cluster: OnceLock<Cluster>,
    /// What `GET /metrics` reports beyond what the store keeps.
    pub(crate) metrics: Arc<Metrics>,
    /// The per-client rate limits' state.
    pub(crate) limiters: Arc<Limiters>,
    /// The alert rules `GET /api/alerts` shows and `POST /api/alerts/reload` reloads, once set.
    pub(crate) alerts: std::sync::OnceLock<Alerts>,
    /// Wrong tokens per client address, and who is refused for sending too many.
    pub(crate) failed_auth: FailedAuth,
}

impl Shared {
    /// The state for a gateway over `emitter`'s history.
    pub(crate) fn new(emitter: Emitter, config: GatewayConfig) -> Shared {
        let max_permits =
            u32::try_from(config.max_connections.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        let first_seq = emitter.history().bounds().newest.unwrap_or(0);
        Shared {
            metrics: Arc::new(Metrics::new(first_seq)),
            limiters: Arc::new(Limiters::new(config.rate_limits)),
            history: emitter.history(),
            emitter,
            permits: Arc::new(Semaphore::new(max_permits as usize)),
            shutdown: watch::Sender::new(false),
            max_permits,
            queries: Arc::new(Semaphore::new(
                config.max_concurrent_queries.min(Semaphore::MAX_PERMITS),
            )),
            viewer_bytes: Arc::new(Semaphore::new(
                config.max_viewer_bytes.min(Semaphore::MAX_PERMITS),
            )),
            ingest: Arc::new(Semaphore::new(
                config.max_concurrent_ingest.min(Semaphore::MAX_PERMITS),
            )),
            slots: Arc::new(Slots::new(
                config.max_http_connections,
                config.max_connections_per_client,
            )),
            failed_auth: FailedAuth::default(),
            config,
            cluster: OnceLock::new(),
            alerts: std::sync::OnceLock::new(),
        }
    }

    /// Viewers connected right now.
    pub(crate) fn viewers(&self) -> usize {
        self.max_permits as usize - self.permits.available_permits()
    }
}
