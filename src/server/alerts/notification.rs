//! What an alert says when it fires or resolves: vg's JSON payload, and the one line the Slack and
//! Discord bodies, `vg alerts test` and the viewers show.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::rules::WebhookFormat;
use crate::model::LogEntry;

/// Whether an alert starts (or goes on) or has cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum AlertState {
    /// The condition holds.
    Firing,
    /// The condition cleared.
    Resolved,
}

/// One notification, as the `json` webhook format sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Notification {
    /// The rule's name.
    pub rule: String,
    /// Firing or resolved.
    pub state: AlertState,
    /// When the engine decided (the entry's time in `vg alerts test`).
    pub at: DateTime<Utc>,
    /// Matching entries in the window now (0 for an absence rule).
    pub count: u64,
    /// The rule's threshold.
    pub threshold: u64,
    /// The rule's window, in seconds.
    pub window_secs: f64,
    /// For an absence rule, how long without a match fires it, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absent_for_secs: Option<f64>,
    /// Matches (or, for absence, silences) not notified since the last notification.
    pub suppressed: u64,
    /// When the last notification of this rule and group was sent, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
    /// The `group_by` value this alert is about (`null` when the entry lacks the key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<Option<String>>,
    /// The first matching entry since the last notification.
    pub first: Option<Arc<LogEntry>>,
    /// The latest matching entry.
    pub last: Option<Arc<LogEntry>>,
    /// The server's instance.
    pub instance: Option<String>,
    /// The server's region.
    pub region: Option<String>,
}

impl Notification {
    /// One line for people: `[firing] api errors (path=/x): 7 in 1m (threshold 5); and 341 more like
    /// it in 10m`.
    pub fn summary(&self) -> String {
        let state = match self.state {
            AlertState::Firing => "firing",
            AlertState::Resolved => "resolved",
        };
        let mut text = format!("[{state}] {}", self.rule);
        if let Some(group) = &self.group {
            text.push_str(&format!(" ({})", group.as_deref().unwrap_or("no value")));
        }
        match (self.absent_for_secs, self.state) {
            (Some(secs), AlertState::Firing) => {
                text.push_str(&format!(": no matching entry for {}", human(secs)));
            }
            (Some(_), AlertState::Resolved) => text.push_str(": matching entries arrive again"),
            (None, _) => text.push_str(&format!(
                ": {} in {} (threshold {})",
                self.count,
                human(self.window_secs),
                self.threshold
            )),
        }
        if self.suppressed > 0 {
            let span = self
                .since
                .map(|since| human((self.at - since).num_milliseconds().max(0) as f64 / 1000.0))
                .unwrap_or_else(|| "the cooldown".into());
            text.push_str(&format!("; and {} more like it in {span}", self.suppressed));
        }
        if let Some(last) = &self.last {
            let message: String = last
                .message
                .lines()
                .next()
                .unwrap_or("")
                .chars()
                .take(200)
                .collect();
            text.push_str(&format!(
                "; last: {} {}: {message}",
                last.level.as_str(),
                last.source
            ));
        }
        text
    }

    /// The webhook body in `format`.
    pub fn body(&self, format: WebhookFormat) -> serde_json::Value {
        match format {
            WebhookFormat::Json => serde_json::to_value(self).unwrap_or_default(),
            WebhookFormat::Slack => serde_json::json!({ "text": self.summary() }),
            // Discord refuses content over 2,000 characters.
            WebhookFormat::Discord => {
                serde_json::json!({ "content": self.summary().chars().take(2000).collect::<String>() })
            }
        }
    }
}

/// `90` -> `1m30s`, `600` -> `10m`, `0.5` -> `500ms`.
pub(crate) fn human(secs: f64) -> String {
    if secs < 1.0 {
        return format!("{}ms", (secs * 1000.0).round() as u64);
    }
    let mut left = secs.round() as u64;
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if left >= size {
            out.push_str(&format!("{}{unit}", left / size));
            left %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human(600.0), "10m");
        assert_eq!(human(90.0), "1m30s");
        assert_eq!(human(0.25), "250ms");
        assert_eq!(human(7200.0), "2h");
    }
}
