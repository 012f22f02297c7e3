//! `vg alerts test`: the rules run over entries already written, each judged at its own
//! timestamp, sending nothing. How a user tunes thresholds before deploying them.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

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
        // Time passes between entries as it would on a server that looks every second, so a
        // silence or a resolution is reported when it happened, not at the next entry.
        if let Some(mut at) = last {
            let step = step_for(now - at);
            while at + step < now {
                at += step;
                engine.tick(at, &mut out);
            }
        }
        engine.tick(now, &mut out);
        engine.observe(&Arc::new(entry), now, &mut out);
        last = Some(last.map_or(now, |l: DateTime<Utc>| l.max(now)));
    }
    if let (Some(engine), Some(now)) = (engine.as_mut(), last) {
        engine.tick(now, &mut out);
    }
    out
}

/// A second, or longer across gaps of more than a day, so a replay of a file with a month-long gap
/// still takes at most ~86,400 looks per gap.
fn step_for(gap: TimeDelta) -> TimeDelta {
    let second = TimeDelta::seconds(1);
    if gap > TimeDelta::days(1) {
        gap / 86_400
    } else {
        second
    }
}
