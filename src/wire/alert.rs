//! The `alert` message: a server's alert rule fired or resolved. Small on purpose: viewers show one
//! line, and the webhook's full payload (first and last entries, instance) stays with the webhooks.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Whether the alert starts (or goes on) or has cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    /// The rule's condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

impl AlertState {
    /// How the state reads: `firing` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        }
    }
}

/// One alert notification as a viewer receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// When the server decided.
    pub at: DateTime<Utc>,
    /// Matching entries in the rule's window now (0 for an absence rule).
    pub count: u64,
    /// Matches not notified since the rule's previous notification (its cooldown).
    #[serde(default)]
    pub suppressed: u64,
    /// The `group_by` value the alert is about; absent for a rule without `group_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The server's one-line text for people, the same the Slack webhook sends.
    pub summary: String,
}

impl Alert {
    /// The line a viewer shows: the server's summary with unsafe characters escaped, so that a rule
    /// name or log message cannot move the cursor, recolour the terminal or break the line.
    pub fn line(&self) -> String {
        crate::format::sanitize(&self.summary).into_owned()
    }
}
