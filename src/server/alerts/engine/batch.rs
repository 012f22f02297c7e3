//! One rule's matches in a batch of entries that share one `now`, with the outcome of taking them
//! one at a time but a fraction of the work: the time is converted once, each group's cooldown is
//! judged once (only a notification sent in the batch changes it), and the group's first and
//! latest matching entries are remembered as positions in the batch, becoming `Arc`s once at its
//! end (or in a notification) rather than swapped on every match.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Group, MAX_GROUPS, Origin, RuleState, cooled, decide, group_value, notify};
use crate::model::LogEntry;
use crate::server::alerts::notification::{AlertState, Notification};

/// A batch's time, and the same in milliseconds for the windows.
#[derive(Debug, Clone, Copy)]
pub(super) struct Now {
    at: DateTime<Utc>,
    ms: i64,
}

impl Now {
    pub(super) fn new(at: DateTime<Utc>) -> Now {
        Now {
            at,
            ms: at.timestamp_millis(),
        }
    }
}

/// A group's part in the batch being observed.
#[derive(Debug, Default)]
pub(super) struct Marks {
    /// It matched in this batch (and is listed to be finished).
    touched: bool,
    /// Its cooldown is over at the batch's `now`.
    cooled: bool,
    /// The match that becomes the group's `first` (it had none).
    first: Option<usize>,
    /// The latest match, the group's `last`.
    last: Option<usize>,
}

/// Takes the entries at positions `hits` of `entries` (all matching `state`'s rule, in order) at
/// `now`; appends what to notify to `sent` with the position of the entry that caused it.
pub(super) fn observe_rule(
    state: &mut RuleState,
    hits: &[usize],
    entries: &[Arc<LogEntry>],
    now: Now,
    origin: &Origin,
    sent: &mut Vec<(usize, Notification)>,
) {
    let RuleState {
        rule,
        groups,
        last_fired,
        matched,
        notifications,
        groups_dropped,
    } = state;
    *matched += hits.len() as u64;
    let spec = &rule.spec;
    let grouped = spec.group_by.is_some();
    // The groups matched in this batch, to be finished at its end.
    let mut touched: Vec<Option<String>> = Vec::new();
    for &at in hits {
        let entry = &entries[at];
        let key = spec.group_by.as_deref().and_then(|k| group_value(entry, k));
        let key = key.as_deref();
        if !groups.contains(key) {
            if groups.len() >= MAX_GROUPS {
                groups.retain(|g| !g.idle());
            }
            if groups.len() >= MAX_GROUPS {
                *groups_dropped += 1;
                continue;
            }
            groups.insert(key, Group::new(rule, now.at));
        }
        let Some(group) = groups.get_mut(key) else {
            continue;
        };
        if !group.batch.touched {
            group.batch = Marks {
                touched: true,
                cooled: cooled(rule, group, now.at),
                first: None,
                last: None,
            };
            group.last_seen = now.at;
            touched.push(key.map(str::to_owned));
        }
        group.window.add(now.ms);
        if group.first.is_none() && group.batch.first.is_none() {
            group.batch.first = Some(at);
        }
        group.batch.last = Some(at);
        let count = group.window.count(now.ms);
        let holds = match spec.absent_for {
            // It matched just now: silent for no time at all.
            Some(quiet) => quiet.is_zero(),
            None => count >= spec.threshold,
        };
        let Some(alert) = decide(group, holds, group.batch.cooled, true) else {
            continue;
        };
        let first = group
            .first
            .take()
            .or_else(|| group.batch.first.take().map(|k| Arc::clone(&entries[k])));
        let last = Some(Arc::clone(entry));
        let n = notify(
            rule,
            group,
            alert,
            now.at,
            count,
            grouped.then_some(key),
            [first, last],
            origin,
        );
        if alert == AlertState::Firing {
            group.batch.cooled = cooled(rule, group, now.at);
            *last_fired = Some(now.at);
        }
        *notifications += 1;
        sent.push((at, n));
    }
    for key in touched {
        if let Some(group) = groups.get_mut(key.as_deref()) {
            let marks = std::mem::take(&mut group.batch);
            if let Some(k) = marks.first {
                group.first = Some(Arc::clone(&entries[k]));
            }
            if let Some(k) = marks.last {
                group.last = Some(Arc::clone(&entries[k]));
            }
        }
    }
}
