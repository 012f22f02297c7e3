//! The alerts the server sent: the latest shows in the status bar, `A` lists them.

use std::collections::VecDeque;

use super::App;
use crate::wire::{Alert, AlertState};

/// How many alerts the list keeps; older ones are dropped (the server's `GET /api/alerts` has the
/// rules' state).
pub(crate) const KEPT: usize = 100;

impl App {
    /// The newest alert whose rule (and group) is firing now, if any: a `resolved` clears its
    /// own rule's banner only, so another rule still firing keeps it.
    pub(crate) fn firing_alert(&self) -> Option<&Alert> {
        let mut settled: Vec<(&str, Option<&str>)> = Vec::new();
        for alert in self.alerts.iter().rev() {
            let key = (alert.rule.as_str(), alert.group.as_deref());
            if settled.contains(&key) {
                continue;
            }
            if alert.state == AlertState::Firing {
                return Some(alert);
            }
            settled.push(key);
        }
        None
    }

    pub(super) fn on_alert(&mut self, alert: Alert) {
        if self.alerts.len() == KEPT {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert);
    }
}

/// Received alerts, oldest first.
pub(crate) type Received = VecDeque<Alert>;
