//! The alert engine: the rules' state, fed matching entries and the time, returning what to notify.
//!
//! It is pure: it reads no clock (every call carries `now`), sends nothing and starts no thread. The
//! live sink feeds it the server's stream with a clock's time, `vg alerts test` a file with each
//! entry's own timestamp, and the tests a hand-set time. Per rule and group (the `group_by` value):
//!
//! - a threshold rule fires when at least `threshold` matches are in the window; an absence rule
//!   when no match came for `absent_for`;
//! - a firing notification starts a cooldown; while it lasts nothing more is sent, but matches (or
//!   new silences) are counted, and once it is over a rule still firing sends one more notification
//!   carrying that count ("and 341 more like it in 10m"). So a burst of any size is one notification
//!   per rule and group per cooldown;
//! - a `resolved` notification is sent when the condition clears after a firing one was sent.
//!
//! The live sink hands it entries in batches sharing one `now`; `batch` takes each rule's matches
//! of a batch in one go, with the same outcome as one entry at a time.

mod batch;
mod groups;
mod keys;
mod matcher;
mod window;

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::notification::{AlertState, Notification};
use super::rules::{Rule, Rules};
use crate::model::LogEntry;
use groups::Groups;
use keys::GroupKeys;
use matcher::Matcher;
use window::Window;

/// Most groups one rule tracks; matches for further values are counted as dropped (a `group_by`
/// on a request id would otherwise grow without end).
pub(crate) const MAX_GROUPS: usize = 1000;

/// One rule's figures, as `GET /api/alerts` shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct RuleStatus {
    /// The rule's name.
    pub name: String,
    /// `ok`, `firing` (notified), or `silenced` (the condition holds but the cooldown keeps it quiet).
    pub state: &'static str,
    /// When it last sent a firing notification.
    pub last_fired: Option<DateTime<Utc>>,
    /// Entries it matched since it was loaded.
    pub matched: u64,
    /// Notifications it produced (firing and resolved).
    pub notifications: u64,
    /// Matches not yet told in a notification, over all groups.
    pub suppressed: u64,
    /// Groups tracked now.
    pub groups: usize,
    /// Matches dropped because the rule already tracked [`MAX_GROUPS`] groups.
    pub groups_dropped: u64,
}

/// One rule and group's state.
#[derive(Debug)]
struct Group {
    window: Window,
    last_seen: DateTime<Utc>,
    /// A firing notification was sent and no resolved one since.
    active: bool,
    /// The condition holds but the cooldown kept it from being sent.
    silenced: bool,
    last_sent: Option<DateTime<Utc>>,
    suppressed: u64,
    first: Option<Arc<LogEntry>>,
    last: Option<Arc<LogEntry>>,
    /// Its part in the batch being observed.
    batch: batch::Marks,
}

impl Group {
    fn new(rule: &Rule, now: DateTime<Utc>) -> Group {
        Group {
            window: Window::new(rule.spec.window),
            last_seen: now,
            active: false,
            silenced: false,
            last_sent: None,
            suppressed: 0,
            first: None,
            last: None,
            batch: batch::Marks::default(),
        }
    }

    /// Nothing to remember: can be dropped to make room.
    fn idle(&self) -> bool {
        !self.active && !self.silenced && self.suppressed == 0 && self.window.is_empty()
    }
}

#[derive(Debug)]
struct RuleState {
    rule: Rule,
    groups: Groups,
    last_fired: Option<DateTime<Utc>>,
    matched: u64,
    notifications: u64,
    groups_dropped: u64,
    /// The groups matched in the batch being observed, each by the position of its first match
    /// there (its key is read again from that entry): kept between batches, so none allocates.
    touched: Vec<usize>,
}

/// The server's instance and region, which every notification carries.
#[derive(Debug)]
struct Origin {
    instance: Option<String>,
    region: Option<String>,
}

/// The rules' state; see the module docs.
#[derive(Debug)]
pub(crate) struct Engine {
    rules: Vec<RuleState>,
    matcher: Matcher,
    group_keys: GroupKeys,
    origin: Origin,
    /// Per distinct check (see `matcher`), the batch's entries it matched (positions in the
    /// batch); every rule of the check reads them. Kept between batches.
    hits: Vec<Vec<usize>>,
}

impl Engine {
    /// Starts watching at `now`: an absence rule without `group_by` fires if nothing matches for
    /// `absent_for` from here.
    pub(crate) fn new(
        rules: &Rules,
        instance: Option<String>,
        region: Option<String>,
        now: DateTime<Utc>,
    ) -> Engine {
        let matcher = Matcher::new(&rules.rules);
        let group_keys = GroupKeys::new(&rules.rules);
        let rules = rules
            .rules
            .iter()
            .map(|rule| {
                let mut groups = Groups::default();
                if rule.spec.absent_for.is_some() && rule.spec.group_by.is_none() {
                    groups.insert(None, Group::new(rule, now));
                }
                RuleState {
                    rule: rule.clone(),
                    groups,
                    last_fired: None,
                    matched: 0,
                    notifications: 0,
                    groups_dropped: 0,
                    touched: Vec::new(),
                }
            })
            .collect::<Vec<_>>();
        Engine {
            hits: vec![Vec::new(); matcher.checks()],
            rules,
            matcher,
            group_keys,
            origin: Origin { instance, region },
        }
    }

    /// The notifier names of the rule called `rule`.
    pub(crate) fn notify_of(&self, rule: &str) -> &[String] {
        self.rules
            .iter()
            .find(|r| r.rule.spec.name == rule)
            .map_or(&[], |r| &r.rule.spec.notify)
    }

    /// Takes over the state of `old`'s rules that are unchanged here (same name, same spec).
    pub(crate) fn keep_state_from(&mut self, old: Engine) {
        let mut old: HashMap<String, RuleState> = old
            .rules
            .into_iter()
            .map(|r| (r.rule.spec.name.clone(), r))
            .collect();
        for state in &mut self.rules {
            if let Some(previous) = old.remove(&state.rule.spec.name)
                && previous.rule.spec == state.rule.spec
            {
                *state = previous;
            }
        }
    }

    /// Takes one entry at `now`; appends what to notify to `out`.
    pub(crate) fn observe(
        &mut self,
        entry: &Arc<LogEntry>,
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        self.observe_batch(std::slice::from_ref(entry), now, out);
    }

    /// Takes `entries`, all at `now`; appends what to notify to `out`, in the order taking them one
    /// at a time would (by entry, then by rule).
    pub(crate) fn observe_batch(
        &mut self,
        entries: &[Arc<LogEntry>],
        now: DateTime<Utc>,
        out: &mut Vec<Notification>,
    ) {
        for hits in &mut self.hits {
            hits.clear();
        }
        for (at, entry) in entries.iter().enumerate() {
            for &check in self.matcher.matches(entry) {
                self.hits[check].push(at);
            }
        }
        let mut sent = Vec::new();
        let now = batch::Now::new(now);
        self.group_keys.start(entries.len());
        for (rule, state) in self.rules.iter_mut().enumerate() {
            let hits = &self.hits[self.matcher.check_of(rule)];
            if !hits.is_empty() {
                let keys = self.group_keys.column(rule);
                batch::observe_rule(state, hits, entries, keys, now, &self.origin, &mut sent);
            }
        }
        // Rules were taken one after another; stable, so each entry's stay in rule order.
        sent.sort_by_key(|(at, _)| *at);
        out.extend(sent.into_iter().map(|(_, n)| n));
    }

    /// Lets time pass to `now`: windows empty, silences begin, cooldowns end.
    pub(crate) fn tick(&mut self, now: DateTime<Utc>, out: &mut Vec<Notification>) {
        for state in &mut self.rules {
            let grouped = state.rule.spec.group_by.is_some();
            let mut sent = Vec::new();
            for (key, group) in state.groups.iter_mut() {
                if let Some(n) = evaluate(
                    &state.rule,
                    group,
                    now,
                    grouped.then_some(key),
                    &self.origin,
                ) {
                    sent.push(n);
                }
            }
            // Grouped absence rules keep their groups (a group that went quiet is the point).
            if state.rule.spec.absent_for.is_none() {
                state.groups.retain(|g| {
                    !g.idle()
                        || g.last_sent
                            .is_some_and(|t| now < t + state.rule.spec.cooldown)
                });
            }
            for n in sent {
                record(state, Some(n), out);
            }
        }
    }

    /// Each rule's figures.
    pub(crate) fn status(&self) -> Vec<RuleStatus> {
        self.rules
            .iter()
            .map(|s| {
                let state = if s.groups.values().any(|g| g.active) {
                    "firing"
                } else if s.groups.values().any(|g| g.silenced) {
                    "silenced"
                } else {
                    "ok"
                };
                RuleStatus {
                    name: s.rule.spec.name.clone(),
                    state,
                    last_fired: s.last_fired,
                    matched: s.matched,
                    notifications: s.notifications,
                    suppressed: s.groups.values().map(|g| g.suppressed).sum(),
                    groups: s.groups.len(),
                    groups_dropped: s.groups_dropped,
                }
            })
            .collect()
    }
}

fn record(state: &mut RuleState, sent: Option<Notification>, out: &mut Vec<Notification>) {
    if let Some(n) = sent {
        state.notifications += 1;
        if n.state == AlertState::Firing {
            state.last_fired = Some(n.at);
        }
        out.push(n);
    }
}

/// Decides whether the group notifies now, with no new match (see the module docs).
fn evaluate(
    rule: &Rule,
    group: &mut Group,
    now: DateTime<Utc>,
    key: Option<Option<&str>>,
    origin: &Origin,
) -> Option<Notification> {
    let spec = &rule.spec;
    let count = group.window.count(now.timestamp_millis());
    let holds = match spec.absent_for {
        Some(quiet) => (now - group.last_seen).to_std().is_ok_and(|d| d >= quiet),
        None => count >= spec.threshold,
    };
    let alert = decide(group, holds, cooled(rule, group, now), false)?;
    let first = group.first.take();
    let last = group.last.clone();
    Some(notify(
        rule,
        group,
        alert,
        now,
        count,
        key,
        [first, last],
        origin,
    ))
}

/// Whether the group's cooldown is over at `now` (or it never sent).
fn cooled(rule: &Rule, group: &Group, now: DateTime<Utc>) -> bool {
    group
        .last_sent
        .is_none_or(|t| (now - t).to_std().is_ok_and(|d| d >= rule.spec.cooldown))
}

/// What the group sends, given whether its condition holds and its cooldown is over; counts what
/// the cooldown holds back (a new match, when `matched`).
fn decide(group: &mut Group, holds: bool, cooled: bool, matched: bool) -> Option<AlertState> {
    if holds {
        if cooled && (!group.active || group.suppressed > 0) {
            Some(AlertState::Firing)
        } else {
            if !group.active {
                group.silenced = true;
            }
            if matched {
                group.suppressed += 1;
            }
            None
        }
    } else {
        group.silenced = false;
        group.active.then_some(AlertState::Resolved)
    }
}

/// The notification `decide` chose, with the group's `[first, last]` matching entries; moves the
/// group on (the count told, a cooldown started).
#[expect(
    clippy::too_many_arguments,
    reason = "one call from each of the two paths; a struct would only rename them"
)]
fn notify(
    rule: &Rule,
    group: &mut Group,
    state: AlertState,
    now: DateTime<Utc>,
    count: u64,
    key: Option<Option<&str>>,
    [first, last]: [Option<Arc<LogEntry>>; 2],
    origin: &Origin,
) -> Notification {
    let spec = &rule.spec;
    let notification = Notification {
        rule: spec.name.clone(),
        state,
        at: now,
        count: if spec.absent_for.is_some() { 0 } else { count },
        threshold: spec.threshold,
        window_secs: spec.window.as_secs_f64(),
        absent_for_secs: spec.absent_for.map(|d| d.as_secs_f64()),
        suppressed: group.suppressed,
        since: group.last_sent,
        group: key.map(|k| k.map(str::to_owned)),
        first,
        last,
        instance: origin.instance.clone(),
        region: origin.region.clone(),
    };
    group.suppressed = 0;
    group.silenced = false;
    match state {
        AlertState::Firing => {
            group.active = true;
            group.last_sent = Some(now);
        }
        AlertState::Resolved => group.active = false,
    }
    notification
}

#[cfg(test)]
mod tests;
