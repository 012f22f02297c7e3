//! Alert rules' cost, in one run: the same stream through an emitter with an alert sink holding no
//! rules and one holding 50 (levels, source globs, regexes, meta predicates, group_by, absence).
//!
//! - `emit()`: ns per call on the app's thread (the rules run on the sink's thread, so this should
//!   not move);
//! - ingest throughput: entries per second from the first `emit()` until the alert sink has taken
//!   the last one (what the rules cost the server);
//! - a burst of 1,000,000 matching entries against rules with a 10-minute cooldown, webhooks to a
//!   receiver on 127.0.0.1: notifications received, at most one per rule and group.
//!
//! `cargo bench --features server --bench alerts`

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use vg::server::alerts::{Alerts, AlertsConfig, NotifierSpec, RuleSpec, Rules};
use vg::server::{Emitter, EmitterConfig};
use vg::{FilterSpec, Level, LogEntry};

#[path = "support/entries.rs"]
mod entries;

const N: u64 = 500_000;
const ROUNDS: usize = 3;

fn fifty_rules(notify: &[&str]) -> Vec<RuleSpec> {
    let mut rules = Vec::new();
    for i in 0..50 {
        let mut filter = FilterSpec::default();
        match i % 5 {
            0 => filter.level = Some(["warn", "error"][i % 2].into()),
            1 => filter.source = vec![format!("{}*", ["api", "db", "wor"][i % 3])],
            2 => {
                filter.q =
                    Some(["timeout|refused", r"took \d{3}ms", "^GET /api/orders"][i % 3].into())
            }
            3 => filter.predicates = vec![format!("status>={}", [500, 404][i % 2])],
            _ => {
                filter.level = Some("error".into());
                filter.predicates = vec!["path~^/api/users".into()];
            }
        }
        let mut rule = RuleSpec::new(format!("rule {i}"), filter);
        rule.threshold = [1, 5, 100][i % 3];
        rule.cooldown = Duration::from_secs(600);
        if i % 7 == 0 {
            rule.group_by = Some("region".into());
        }
        if i % 10 == 9 {
            rule = RuleSpec::new(
                format!("rule {i}"),
                FilterSpec {
                    source: vec!["cron".into()],
                    ..Default::default()
                },
            );
            rule.absent_for = Some(Duration::from_secs(300));
        }
        rule.notify = notify.iter().map(|s| (*s).to_owned()).collect();
        rules.push(rule);
    }
    rules
}

/// Emits `N` entries; returns (ns per emit, entries per second until the alert sink took them all).
fn run(rules: Vec<RuleSpec>) -> (f64, f64) {
    let emitter = Emitter::new(
        EmitterConfig::default()
            .read_env(false)
            .live_buffer(1 << 20),
    );
    let rules = Rules::new(rules, Vec::new()).expect("valid rules");
    let _alerts = Alerts::start(&emitter, rules, AlertsConfig::default()).expect("threads");
    let batch: Vec<LogEntry> = (0..N).map(entries::entry).collect();
    let start = Instant::now();
    let mut in_emit = Duration::ZERO;
    let mut last = 0;
    for entry in batch {
        let t = Instant::now();
        last = emitter.emit(entry);
        in_emit += t.elapsed();
    }
    while emitter.sink_stats()[0].position < last {
        std::thread::sleep(Duration::from_micros(200));
    }
    let total = start.elapsed();
    let stats = &emitter.sink_stats()[0];
    assert_eq!(
        stats.missed, 0,
        "the sink fell behind the live buffer; raise it"
    );
    (
        in_emit.as_nanos() as f64 / N as f64,
        N as f64 / total.as_secs_f64(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn burst() {
    let received = Arc::new(AtomicUsize::new(0));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let counter = Arc::clone(&received);
    let url = runtime.block_on(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move || {
                counter.fetch_add(1, Ordering::Relaxed);
                async { "" }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    });
    let emitter = Emitter::new(
        EmitterConfig::default()
            .read_env(false)
            .live_buffer(1 << 20),
    );
    // Every entry matches every rule: error level, one of 3 regions.
    let mut specs = Vec::new();
    for i in 0..50 {
        let mut rule = RuleSpec::new(
            format!("burst {i}"),
            FilterSpec {
                level: Some("error".into()),
                ..Default::default()
            },
        );
        rule.cooldown = Duration::from_secs(600);
        if i % 2 == 0 {
            rule.group_by = Some("region".into());
        }
        rule.notify = vec!["sink".into()];
        specs.push(rule);
    }
    let rules = Rules::new(specs, vec![NotifierSpec::new("sink", &url)]).unwrap();
    let alerts = Alerts::start(&emitter, rules, AlertsConfig::default()).unwrap();
    let start = Instant::now();
    let mut last = 0;
    for i in 0..1_000_000u64 {
        let mut e = LogEntry::new(Level::Error, "api", "upstream refused");
        e.meta
            .insert("region", ["ord", "ams", "fra"][(i % 3) as usize]);
        last = emitter.emit(e);
    }
    while emitter.sink_stats()[0].position < last {
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = start.elapsed();
    // Let the sender deliver what it queued.
    let expected = 25 * 3 + 25;
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    let got = received.load(Ordering::Relaxed);
    let status = alerts.status();
    let suppressed: u64 = status.rules.iter().map(|r| r.suppressed).sum();
    println!(
        "burst: 1,000,000 matching entries x 50 rules in {:.2}s: {got} notifications (at most {expected}: one per rule and group), {suppressed} held back, dropped {}",
        took.as_secs_f64(),
        status.notifiers[0].dropped
    );
    assert!(
        got <= expected,
        "{got} notifications for {expected} rule/group pairs"
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut none = (Vec::new(), Vec::new());
    let mut fifty = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let (e, t) = run(Vec::new());
        none.0.push(e);
        none.1.push(t);
        let (e, t) = run(fifty_rules(&[]));
        fifty.0.push(e);
        fifty.1.push(t);
    }
    let (e0, t0) = (median(none.0), median(none.1));
    let (e50, t50) = (median(fifty.0), median(fifty.1));
    println!(
        "emit(): no rules {e0:.0} ns, 50 rules {e50:.0} ns ({:+.1}%)",
        (e50 / e0 - 1.0) * 100.0
    );
    println!(
        "ingest until the alert sink took all {N}: no rules {:.0}/s, 50 rules {:.0}/s ({:+.1}%)",
        t0,
        t50,
        (t50 / t0 - 1.0) * 100.0
    );
    burst();
}
