//! The alerts a viewer is sent: every notification of the server's alert rules, as it is decided.

use std::sync::Arc;

use tokio::sync::broadcast::{self, error::RecvError};

use crate::server::alerts::{AlertState, Notification};
use crate::wire::{self, Alert};

/// The next notification, or never when the server has no alert rules (or they stopped). A viewer
/// that fell behind the bounded channel skips what it missed: alerts are news, the webhooks and
/// `GET /api/alerts` keep the record.
pub(super) async fn next(alerts: &mut Option<broadcast::Receiver<Arc<Notification>>>) -> Alert {
    loop {
        let Some(rx) = alerts.as_mut() else {
            return std::future::pending().await;
        };
        match rx.recv().await {
            Ok(notification) => return to_wire(&notification),
            Err(RecvError::Lagged(_)) => continue,
            Err(RecvError::Closed) => *alerts = None,
        }
    }
}

fn to_wire(n: &Notification) -> Alert {
    Alert {
        rule: n.rule.clone(),
        state: match n.state {
            AlertState::Resolved => wire::AlertState::Resolved,
            _ => wire::AlertState::Firing,
        },
        at: n.at,
        count: n.count,
        suppressed: n.suppressed,
        group: n.group.clone().flatten(),
        summary: n.summary(),
    }
}
