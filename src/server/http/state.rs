//! What every handler and connection of one gateway shares.

use std::sync::Arc;

use tokio::sync::{Semaphore, watch};

use super::config::GatewayConfig;
use crate::server::alerts::Alerts;
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
    /// The alert rules `GET /api/alerts` shows and `POST /api/alerts/reload` reloads, once set.
    pub(crate) alerts: std::sync::OnceLock<Alerts>,
}

impl Shared {
    /// The state for a gateway over `emitter`'s history.
    pub(crate) fn new(emitter: Emitter, config: GatewayConfig) -> Shared {
        let max_permits =
            u32::try_from(config.max_connections.min(Semaphore::MAX_PERMITS)).unwrap_or(u32::MAX);
        Shared {
            history: emitter.history(),
            emitter,
            permits: Arc::new(Semaphore::new(max_permits as usize)),
            shutdown: watch::Sender::new(false),
            max_permits,
            config,
            alerts: std::sync::OnceLock::new(),
        }
    }

    /// Viewers connected right now.
    pub(crate) fn viewers(&self) -> usize {
        self.max_permits as usize - self.permits.available_permits()
    }
}
