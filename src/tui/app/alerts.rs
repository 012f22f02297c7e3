//! The alerts the server sent: the latest shows in the status bar, `A` lists them.

use std::collections::VecDeque;

use super::App;
use crate::wire::Alert;

/// How many alerts the list keeps; older ones are dropped (the server's `GET /api/alerts` has the
/// rules' state).
pub(crate) const KEPT: usize = 100;

impl App {
    pub(super) fn on_alert(&mut self, alert: Alert) {
        if self.alerts.len() == KEPT {
            self.alerts.pop_front();
        }
        self.alerts.push_back(alert);
    }
}

/// Received alerts, oldest first.
pub(crate) type Received = VecDeque<Alert>;
