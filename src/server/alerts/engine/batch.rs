//! One rule's matches in a batch of entries that share one `now`, with the outcome of taking them
//! one at a time but a fraction of the work: the time is converted once, each group's cooldown is
//! judged once (only a notification sent in the batch changes it), and the group's first and
//! latest matching entries are remembered as positions in the batch, becoming `Arc`s once at its
//! end (or in a notification) rather than swapped on every match. Once a group's further matches
//! in the batch can only be counted (see [`Rest`]), a rule without `group_by` counts the rest of
//! its matches in one step.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::keys::Column;
use super::{Group, MAX_GROUPS, Origin, RuleState, cooled, decide, notify};
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
    /// What a further match in this batch can still do; see [`Rest`].
    rest: Rest,
    /// The match that becomes the group's `first` (it had none).
    first: Option<usize>,
    /// The latest match, the group's `last`.
    last: Option<usize>,
}

/// What a group's further matches in the batch can do. Within a batch `now` stands still, so a
/// window's count only grows and the cooldown only changes when a notification is sent: once a
/// match is held back by the cooldown, every later one in the batch is too, and once an absence
/// rule's match changed nothing, neither will the next. Such matches are only counted, in one step
/// for a rule without `group_by` (all its matches are one group's).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Rest {
    /// Each match may notify: judge it.
    #[default]
    Decide,
    /// The condition holds and the cooldown runs: each match is held back (`suppressed`).
    HeldBack,
    /// An absence rule that is not firing: a match only resets the silence, already done.
    Nothing,
}

/// Takes the entries at positions `hits` of `entries` (all matching `state`'s rule, in order) at
/// `now`, grouped by `keys` (the rule's `group_by` lookups, if it has one); appends what to notify
/// to `sent` with the position of the entry that caused it.
pub(super) fn observe_rule(
    state: &mut RuleState,
    hits: &[usize],
    entries: &[Arc<LogEntry>],
    mut keys: Option<Column<'_>>,
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
        touched,
    } = state;
    *matched += hits.len() as u64;
    let spec = &rule.spec;
    let grouped = keys.is_some();
    touched.clear();
    for (i, &at) in hits.iter().enumerate() {
        let entry = &entries[at];
        let key = keys.as_mut().and_then(|c| c.value(entry, at));
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
                ..Marks::default()
            };
            group.last_seen = now.at;
            touched.push(at);
        }
        if group.batch.rest != Rest::Decide {
            // Without group_by, the rest of the batch's matches are all this group's.
            let n = if grouped { 1 } else { hits.len() - i };
            group.window.add_many(now.ms, n as u64);
            if group.batch.rest == Rest::HeldBack {
                group.suppressed += n as u64;
            }
            group.batch.last = Some(if grouped { at } else { hits[hits.len() - 1] });
            if grouped {
                continue;
            }
            break;
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
            group.batch.rest = if holds && !group.batch.cooled {
                Rest::HeldBack
            } else if spec.absent_for.is_some() && !holds && !group.active {
                Rest::Nothing
            } else {
                Rest::Decide
            };
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
    for &at in touched.iter() {
        let key = keys.as_mut().and_then(|c| c.value(&entries[at], at));
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
