//! `vg alerts test`: the rules run over entries already written, each judged at its own
//! timestamp, sending nothing. How a user tunes thresholds before deploying them.

use std::sync::Arc;

use super::engine::Engine;
use super::notification::Notification;
use super::rules::Rules;
use crate::model::LogEntry;

/// What `rules` would have notified over `entries`, in order, each judged at the entry's own
/// timestamp (time between entries passes too: silences and resolutions are found). Sends nothing.
pub fn replay(rules: &Rules, entries: impl IntoIterator<Item = LogEntry>) -> Vec<Notification> {
    let mut out = Vec::new();
    let mut engine: Option<Engine> = None;
    let mut last = None;
    for entry in entries {
        let now = entry.timestamp;
        let engine = engine.get_or_insert_with(|| Engine::new(rules, None, None, now));
        engine.tick(now, &mut out);
        engine.observe(&Arc::new(entry), now, &mut out);
        last = Some(now);
    }
    if let (Some(engine), Some(now)) = (engine.as_mut(), last) {
        engine.tick(now, &mut out);
    }
    out
}
