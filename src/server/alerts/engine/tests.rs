//! The engine's rules over hand-set time: nothing here sleeps.

use std::time::Duration;

use super::*;
use crate::filter::FilterSpec;
use crate::model::Level;
use crate::server::alerts::rules::RuleSpec;

fn t(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
}

fn errors_rule(threshold: u64, window: u64, cooldown: u64) -> RuleSpec {
    let mut rule = RuleSpec::new(
        "errors",
        FilterSpec {
            level: Some("error".into()),
            ..FilterSpec::default()
        },
    );
    rule.threshold = threshold;
    rule.window = Duration::from_secs(window);
    rule.cooldown = Duration::from_secs(cooldown);
    rule
}

fn engine(rules: Vec<RuleSpec>) -> Engine {
    let rules = Rules::new(rules, Vec::new()).unwrap();
    Engine::new(&rules, Some("i-1".into()), Some("ord".into()), t(0))
}

fn entry(level: Level, message: &str, path: Option<&str>) -> Arc<LogEntry> {
    let mut e = LogEntry::new(level, "api", message);
    if let Some(path) = path {
        e.meta.insert("path", path);
    }
    Arc::new(e)
}

/// Feeds one entry at `secs`; returns what was sent.
fn feed(engine: &mut Engine, secs: i64, e: &Arc<LogEntry>) -> Vec<Notification> {
    let mut out = Vec::new();
    engine.observe(e, t(secs), &mut out);
    out
}

fn tick(engine: &mut Engine, secs: i64) -> Vec<Notification> {
    let mut out = Vec::new();
    engine.tick(t(secs), &mut out);
    out
}

#[test]
fn a_threshold_fires_only_when_enough_matches_fall_in_the_window() {
    let mut e = engine(vec![errors_rule(3, 60, 600)]);
    let err = entry(Level::Error, "boom", None);
    assert!(feed(&mut e, 0, &err).is_empty());
    assert!(feed(&mut e, 10, &err).is_empty());
    // Info entries do not count.
    assert!(feed(&mut e, 20, &entry(Level::Info, "fine", None)).is_empty());
    // The first two have left the window by 70s: still two in it.
    assert!(feed(&mut e, 70, &err).is_empty());
    assert!(feed(&mut e, 75, &err).is_empty());
    let sent = feed(&mut e, 80, &err);
    assert_eq!(sent.len(), 1);
    let n = &sent[0];
    assert_eq!((n.state, n.count, n.suppressed), (AlertState::Firing, 3, 0));
    assert_eq!(n.rule, "errors");
    assert_eq!(n.instance.as_deref(), Some("i-1"));
    assert_eq!(n.region.as_deref(), Some("ord"));
    assert_eq!(n.first.as_ref().unwrap().message, "boom");
    assert_eq!(e.status()[0].state, "firing");
}

#[test]
fn the_cooldown_counts_what_it_holds_back_and_the_next_notification_says_so() {
    let mut e = engine(vec![errors_rule(1, 60, 600)]);
    let err = entry(Level::Error, "boom", None);
    assert_eq!(feed(&mut e, 0, &err).len(), 1);
    // 341 more within the cooldown: nothing sent.
    for i in 0..341 {
        assert!(feed(&mut e, 1 + i * 589 / 340, &err).is_empty());
    }
    assert_eq!(e.status()[0].suppressed, 341);
    assert!(tick(&mut e, 599).is_empty());
    // The cooldown is over and it still fires: one notification with the count.
    let sent = tick(&mut e, 600);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Firing);
    assert_eq!(sent[0].suppressed, 341);
    assert!(
        sent[0].summary().contains("and 341 more like it in 10m"),
        "{}",
        sent[0].summary()
    );
    assert_eq!(e.status()[0].notifications, 2);
}

#[test]
fn a_threshold_resolves_when_the_window_empties_and_refires_only_after_the_cooldown() {
    let mut e = engine(vec![errors_rule(1, 60, 600)]);
    let err = entry(Level::Error, "boom", None);
    assert_eq!(feed(&mut e, 0, &err)[0].state, AlertState::Firing);
    assert!(tick(&mut e, 30).is_empty());
    let sent = tick(&mut e, 61);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].state, sent[0].count), (AlertState::Resolved, 0));
    assert_eq!(e.status()[0].state, "ok");
    // Back within the cooldown: silenced, counted, not sent.
    assert!(feed(&mut e, 100, &err).is_empty());
    assert!(feed(&mut e, 101, &err).is_empty());
    assert_eq!(e.status()[0].state, "silenced");
    assert!(tick(&mut e, 130).is_empty());
    // Once the cooldown ends while it still holds, it fires with what it held back.
    assert!(feed(&mut e, 599, &err).is_empty());
    let sent = tick(&mut e, 600);
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].state, sent[0].suppressed), (AlertState::Firing, 3));
}

#[test]
fn each_group_by_value_is_an_alert_of_its_own() {
    let mut rule = errors_rule(2, 60, 600);
    rule.group_by = Some("path".into());
    let mut e = engine(vec![rule]);
    let a = entry(Level::Error, "a", Some("/a"));
    let b = entry(Level::Error, "b", Some("/b"));
    let none = entry(Level::Error, "none", None);
    assert!(feed(&mut e, 0, &a).is_empty());
    assert!(feed(&mut e, 1, &b).is_empty());
    assert!(feed(&mut e, 2, &none).is_empty());
    let sent = feed(&mut e, 3, &a);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].group, Some(Some("/a".into())));
    assert!(sent[0].summary().contains("errors (/a)"));
    // /a's cooldown does not hold /b back.
    let sent = feed(&mut e, 4, &b);
    assert_eq!(sent[0].group, Some(Some("/b".into())));
    // Entries without the key are a group too.
    let sent = feed(&mut e, 5, &none);
    assert_eq!(sent[0].group, Some(None));
    assert_eq!(e.status()[0].groups, 3);
}

#[test]
fn too_many_groups_are_counted_not_kept() {
    let mut rule = errors_rule(5, 60, 600);
    rule.group_by = Some("path".into());
    let mut e = engine(vec![rule]);
    for i in 0..MAX_GROUPS + 10 {
        feed(&mut e, 0, &entry(Level::Error, "x", Some(&format!("/{i}"))));
    }
    let status = &e.status()[0];
    assert_eq!(status.groups, MAX_GROUPS);
    assert_eq!(status.groups_dropped, 10);
    // Once their windows empty they are let go.
    tick(&mut e, 120);
    assert_eq!(e.status()[0].groups, 0);
}

#[test]
fn absence_fires_after_the_silence_and_resolves_when_an_entry_arrives() {
    let mut rule = RuleSpec::new(
        "worker silent",
        FilterSpec {
            source: vec!["worker".into()],
            ..FilterSpec::default()
        },
    );
    rule.absent_for = Some(Duration::from_secs(120));
    let mut e = engine(vec![rule]);
    let worker = Arc::new(LogEntry::new(Level::Info, "worker", "tick"));
    assert!(feed(&mut e, 60, &worker).is_empty());
    // Other sources do not keep it quiet.
    assert!(feed(&mut e, 170, &entry(Level::Info, "x", None)).is_empty());
    assert!(tick(&mut e, 179).is_empty());
    let sent = tick(&mut e, 180);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Firing);
    assert!(
        sent[0].summary().contains("no matching entry for 2m"),
        "{}",
        sent[0].summary()
    );
    // Still silent: no repeat.
    assert!(tick(&mut e, 500).is_empty());
    let sent = feed(&mut e, 510, &worker);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].state, AlertState::Resolved);
    assert_eq!(sent[0].last.as_ref().unwrap().message, "tick");
}

#[test]
fn absence_is_watched_from_the_start_even_if_nothing_ever_matches() {
    let mut rule = RuleSpec::new("quiet", FilterSpec::default());
    rule.absent_for = Some(Duration::from_secs(30));
    let mut e = engine(vec![rule]);
    assert!(tick(&mut e, 29).is_empty());
    assert_eq!(tick(&mut e, 30).len(), 1);
}

#[test]
fn a_million_matches_in_a_burst_are_one_notification_per_cooldown() {
    let mut e = engine(vec![errors_rule(1, 60, 600)]);
    let err = entry(Level::Error, "boom", None);
    let mut sent = 0;
    for i in 0..1_000_000_i64 {
        sent += feed(&mut e, i / 10_000, &err).len();
    }
    assert_eq!(sent, 1);
    assert_eq!(e.status()[0].suppressed, 999_999);
}

/// Feeds `batches` (each at its time in seconds, then a tick at `tick`) one entry at a time, or
/// each batch at once; returns what was sent and the rules' figures.
fn run_batches(
    rules: Vec<RuleSpec>,
    batches: &[(i64, Vec<Arc<LogEntry>>, i64)],
    at_once: bool,
) -> (Vec<Notification>, Vec<RuleStatus>) {
    let mut e = engine(rules);
    let mut out = Vec::new();
    for (secs, entries, tick) in batches {
        if at_once {
            e.observe_batch(entries, t(*secs), &mut out);
        } else {
            for entry in entries {
                e.observe(entry, t(*secs), &mut out);
            }
        }
        e.tick(t(*tick), &mut out);
    }
    (out, e.status())
}

#[test]
fn a_batch_at_one_time_notifies_exactly_as_its_entries_one_by_one() {
    let mut grouped = errors_rule(2, 60, 300);
    grouped.name = "by path".into();
    grouped.group_by = Some("path".into());
    // No cooldown: it fires, holds one back, fires again with it, ... within one batch.
    let mut eager = errors_rule(1, 60, 0);
    eager.name = "eager".into();
    let mut silent = RuleSpec::new(
        "api silent",
        FilterSpec {
            source: vec!["api".into()],
            ..FilterSpec::default()
        },
    );
    silent.absent_for = Some(Duration::from_secs(100));
    let rules = vec![errors_rule(3, 60, 600), grouped, eager, silent];
    let err = |m: &str, path: Option<&str>| entry(Level::Error, m, path);
    let batch = |n: usize| -> Vec<Arc<LogEntry>> {
        (0..n)
            .map(|i| match i % 4 {
                0 => err(&format!("e{i}"), Some("/a")),
                1 => entry(Level::Info, &format!("i{i}"), None),
                2 => err(&format!("e{i}"), Some("/b")),
                _ => err(&format!("e{i}"), None),
            })
            .collect()
    };
    let batches = [
        // By the tick at 150 the windows have emptied (resolved) and the silence fires; the batch
        // at 200 resolves it on its first entry, and brings the thresholds back within cooldowns.
        (0, batch(9), 150),
        (200, batch(12), 250),
        (700, batch(5), 701),
        (1000, batch(1), 1100),
    ];
    let (one_by_one, status_one) = run_batches(rules.clone(), &batches, false);
    let (at_once, status_batch) = run_batches(rules, &batches, true);
    assert_eq!(at_once, one_by_one);
    assert_eq!(status_batch, status_one);
    // Not a vacuous match: every kind of notification is in there, several in one batch.
    let firing = one_by_one.iter().filter(|n| n.state == AlertState::Firing);
    let resolved = one_by_one
        .iter()
        .filter(|n| n.state == AlertState::Resolved);
    assert!(firing.count() >= 6, "{one_by_one:#?}");
    assert!(resolved.count() >= 2, "{one_by_one:#?}");
    assert!(
        one_by_one
            .iter()
            .any(|n| n.rule == "eager" && n.suppressed == 1)
    );
    assert!(
        one_by_one
            .iter()
            .any(|n| n.group == Some(Some("/b".into())))
    );
    assert!(status_one.iter().all(|s| s.matched > 0));
}
